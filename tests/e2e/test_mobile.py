"""The field pages on a phone (390×844, touch, Debian chromium): no page scrolls sideways, 待办 as cards,
filters folded, the task page with its bottom bar, photos from the camera through the file chooser
(compressed, with time and position, retried on a weak connection without a double upload), the form kept
on the phone through an offline reload and sent when the network returns, two-finger zoom of the diagram,
and nothing left on the phone after logout. Screenshots in test-output/e2e/phone-*.png."""

from __future__ import annotations

import io
import random
import re
import time
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.inbox.models import Attachment, HumanTask
from app.storage import get_storage
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import _console, _response
from tests.test_clue_process import (  # noqa: F401  (fixtures)
    accept,
    clue_process,
    credit,
    dispatch,
    fast_pdf,
    judge,
    open_row,
)

PHONE = {"width": 390, "height": 844}
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36"
)
pytestmark = pytest.mark.usefixtures("clue_process", "fast_pdf")
SHANGHAI = {"latitude": 31.230416, "longitude": 121.473701, "accuracy": 15}
TARGET_BYTES = 600 * 1024  # capture.js


@pytest.fixture
def phone(browser, live_server, console_errors):
    """``phone(login)`` -> a logged-in page in a 390×844 touch context with a granted position."""
    contexts = []

    def open_page(login: str):
        context = browser.new_context(
            base_url=live_server,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            user_agent=ANDROID,
            geolocation=SHANGHAI,
            permissions=["geolocation"],
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: _console(console_errors, msg))
        page.on("pageerror", lambda exc: console_errors.append(str(exc)))
        page.on("response", lambda resp: _response(console_errors, resp))
        page.goto("/login")
        page.fill("#login", login)
        page.fill("#password", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def photos(tmp_path) -> list[Path]:
    """Two camera-sized photos (4000×3000, several MB) that must be compressed on the phone."""
    rng = random.Random(7)
    out = []
    for n in range(2):
        img = Image.new("RGB", (4000, 3000))
        px = img.load()
        for y in range(0, 3000, 4):
            for x in range(0, 4000, 4):
                v = (x * 255 // 4000, y * 255 // 3000, rng.randrange(256))
                for dy in range(4):
                    for dx in range(4):
                        px[x + dx, y + dy] = v
        path = tmp_path / f"现场照片{n + 1}.jpg"
        img.save(path, "JPEG", quality=95)
        out.append(path)
    assert all(p.stat().st_size > 3 * TARGET_BYTES for p in out)
    return out


def fits(page, name: str, output_dir: Path) -> None:
    """The page does not scroll sideways; a full-page screenshot for the note."""
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    page.screenshot(path=str(output_dir / f"phone-{name}.png"), full_page=True)
    assert inner == PHONE["width"], inner
    assert width <= inner, f"{name}: document {width}px wider than the {inner}px screen"


def test_field_pages_fit_a_phone(app, client_for, phone, output_dir, photos, console_errors):
    officer = phone("hp_officer")
    # 线索登记 on the phone, with a photo from the camera: compressed and carrying its time and position.
    officer.goto("/clues/new")
    fits(officer, "clue-register", output_dir)
    officer.select_option("#f-source", "hotline")
    officer.fill("#f-enterprise", credit(app, "上海申江化工贸易有限公司"))
    officer.fill("#f-content", "12350 热线反映该企业仓库夜间违规装卸危险化学品，现场无人监护。")
    officer.check("#geo-attachments")
    with officer.expect_file_chooser() as chooser:
        officer.tap("[data-capture=photo]")
    assert chooser.value.element.get_attribute("capture") == "environment"
    assert chooser.value.element.get_attribute("accept") == "image/*" and chooser.value.is_multiple()
    chooser.value.set_files(str(photos[0]))
    officer.wait_for_selector(".capture-list li.state-done")
    fits(officer, "clue-register-photo", output_dir)
    officer.tap("#clue-form button[type=submit]")
    officer.wait_for_url(re.compile(r"/clues/\d+$"))
    with app.app_context():
        [photo] = db.session.scalars(select(Attachment).where(Attachment.field == "attachments"))
        assert photo.content_type == "image/jpeg" and photo.size <= TARGET_BYTES and photo.filename == "现场照片1.jpg"
        assert abs(photo.latitude - SHANGHAI["latitude"]) < 1e-6 and photo.taken_at is not None
    fits(officer, "clue-detail", output_dir)
    accept(app, client_for)
    judge(app, client_for)
    dispatch(app, client_for)

    # 待办 as cards: the deadline colour on the card's edge, title, number, step and who sent it.
    officer.goto("/inbox/")
    fits(officer, "inbox-todo", output_dir)
    assert officer.locator("#inbox-table thead").is_hidden()
    card = officer.locator("#inbox-table tbody tr").first
    assert card.evaluate("tr => getComputedStyle(tr).display") == "grid"
    assert card.evaluate("tr => getComputedStyle(tr).borderLeftColor") in ("rgb(67, 160, 71)", "rgb(249, 168, 37)")
    text = card.inner_text()
    assert "线索处理" in text or "处理" in text
    assert "XS" in text and "黄浦队员" in text
    # Filters are one 筛选 control.
    assert officer.locator("#inbox-filters").is_hidden()
    officer.tap(".fold-toggle")
    assert officer.locator("#inbox-filters").is_visible()
    fits(officer, "inbox-filters", output_dir)
    officer.tap(".fold-toggle")
    for tab in ("done", "started", "cc"):
        officer.goto(f"/inbox/?tab={tab}")
        fits(officer, f"inbox-{tab}", output_dir)
    for path, name in (("/", "workbench"), ("/inbox/notifications", "notifications"), ("/clues/", "clue-list")):
        officer.goto(path)
        fits(officer, name, output_dir)
    # The task page: the form first, the actions at the bottom of the screen, history and diagram below.
    task_id = open_row(app, "handle")
    officer.goto(f"/inbox/tasks/{task_id}")
    officer.wait_for_selector(".diagram svg")
    fits(officer, "task", output_dir)
    form_y = officer.locator("#task-form").bounding_box()["y"]
    assert (
        form_y < officer.locator(".diagram").bounding_box()["y"] < officer.locator("#attachments").bounding_box()["y"]
    )
    for scroll in (0, 2000):
        officer.evaluate(f"window.scrollTo(0, {scroll})")
        bar = officer.locator("#task-buttons").bounding_box()
        assert abs(bar["y"] + bar["height"] - PHONE["height"]) <= 1 and bar["width"] == PHONE["width"]
    officer.tap("#task-more")
    assert officer.locator("#task-more-sheet").is_visible()
    assert "转办" in officer.locator("#task-more-sheet").inner_text()
    officer.screenshot(path=str(output_dir / "phone-task-more.png"))
    officer.locator("#task-more-sheet .btn-light").tap()
    assert officer.locator("#task-more-sheet").is_hidden()
    officer.goto(f"/inbox/instances/{db_instance(app, task_id)}")
    fits(officer, "instance", output_dir)
    assert not console_errors, console_errors


def db_instance(app, task_id: int) -> int:
    with app.app_context():
        return db.session.get(HumanTask, task_id).instance_id


def pinch(page, selector: str, *, spread: int) -> None:
    """Two fingers on the element, moving apart by ``spread`` px each (Chrome DevTools touch events)."""
    box = page.locator(selector).bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = page.context.new_cdp_session(page)
    cdp.send(
        "Input.dispatchTouchEvent",
        {"type": "touchStart", "touchPoints": [{"x": cx - 30, "y": cy, "id": 1}, {"x": cx + 30, "y": cy, "id": 2}]},
    )
    for step in range(1, 6):
        d = 30 + spread * step / 5
        cdp.send(
            "Input.dispatchTouchEvent",
            {"type": "touchMove", "touchPoints": [{"x": cx - d, "y": cy, "id": 1}, {"x": cx + d, "y": cy, "id": 2}]},
        )
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def local_drafts(page) -> list[str]:
    return page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('ducha.draft.'))")


def test_clue_handle_step_on_a_phone(app, client_for, phone, output_dir, photos, console_errors):
    from tests.test_clue_process import registered

    registered(app, client_for("hp_officer"))
    accept(app, client_for)
    judge(app, client_for)
    dispatch(app, client_for)
    task_id = open_row(app, "handle")
    officer = phone("hp_officer")  # ends the desk client's session of the same user
    officer.goto(f"/inbox/tasks/{task_id}")
    officer.wait_for_selector(".diagram svg")
    officer.evaluate("navigator.serviceWorker.ready.then(() => true)")

    # Two fingers zoom the diagram.
    officer.locator(".diagram").scroll_into_view_if_needed()
    before = officer.evaluate("document.querySelector('.diagram').duchaViewer.get('canvas').zoom()")
    pinch(officer, ".diagram", spread=80)
    after = officer.evaluate("document.querySelector('.diagram').duchaViewer.get('canvas').zoom()")
    assert after > before * 1.5, (before, after)
    officer.evaluate("window.scrollTo(0, 0)")

    officer.fill("#f-investigators", "张伟、刘芳")
    officer.fill("#f-investigated_on", "2026-11-20")
    officer.fill("#f-findings", "现场核查发现 2 号仓库超量储存乙醇约 3 吨，装卸区未设警戒。")

    # Weak connection: the first attempt of each photo is lost on the way back (the server stored it),
    # the second attempt of the first photo never reaches the server. The phone retries with the same key.
    attempts: list[str] = []

    def flaky(route):
        attempts.append(route.request.url)
        if len(attempts) == 1:
            route.fetch()  # reached the server, the answer is lost
            route.abort("connectionreset")
        elif len(attempts) == 2:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    officer.route("**/uploads", flaky)
    officer.check("#geo-evidence")
    with officer.expect_file_chooser() as chooser:
        officer.tap("#task-form [data-capture=photo]")
    chooser.value.set_files([str(p) for p in photos])  # several at once
    officer.wait_for_selector("#task-form .capture-list li.state-waiting", timeout=20_000)
    officer.screenshot(path=str(output_dir / "phone-upload-retry.png"))
    expect(officer.locator("#task-form .capture-list li.state-done")).to_have_count(2, timeout=60_000)
    assert officer.locator("#task-form .capture-list .progress-bar.bg-success").count() == 2
    officer.unroute("**/uploads")
    assert len(attempts) >= 4
    with app.app_context():
        rows = list(db.session.scalars(select(Attachment).where(Attachment.field == "evidence")))
        assert len(rows) == 2, [(r.filename, r.upload_key) for r in rows]  # no double upload
        assert len({r.upload_key for r in rows}) == 2
        for row in rows:
            assert row.content_type == "image/jpeg" and row.size <= TARGET_BYTES
            assert abs(row.longitude - SHANGHAI["longitude"]) < 1e-6 and row.accuracy_m == 15
            assert row.taken_at is not None
            with Image.open(io.BytesIO(get_storage().get("uploads/" + row.path))) as img:
                assert max(img.size) <= 1920
    assert "位置 31.23042, 121.47370 ±15 m" in officer.locator("#task-form .capture-list").inner_text()
    fits(officer, "task-photos", output_dir)

    # The connection drops: the typing goes on, the page is reloaded without network.
    officer.context.set_offline(True)
    officer.fill("#f-measures", "责令立即停止违规装卸，离线补充：限期转移超量物料。")
    time.sleep(0.6)  # drafts.js saves 300 ms after the last keystroke
    assert local_drafts(officer)
    officer.reload()
    officer.wait_for_selector("#offline-page")
    offline_text = officer.locator("#offline-fields").evaluate(
        "b => [...b.querySelectorAll('textarea,input')].map(e => e.value).join('|')"
    )
    assert "离线补充" in offline_text and "超量储存乙醇" in offline_text
    shown = officer.locator("#offline-fields").inner_text()
    assert "现场照片1.jpg" in shown and "退回到" not in shown  # the action panels are not part of the draft
    fits(officer, "offline", output_dir)
    officer.context.set_offline(False)  # the offline page goes back to the task, which restores the draft
    officer.wait_for_selector("#draft-restored")
    assert "离线补充" in officer.input_value("#f-measures")
    assert officer.input_value("#f-investigators") == "张伟、刘芳"
    assert officer.locator("input[name=evidence__uploaded]").count() == 2
    fits(officer, "task-restored", output_dir)

    # 提交 without network: kept, and sent by itself when the network returns.
    officer.context.set_offline(True)
    officer.tap("#task-buttons button[value=complete]")
    officer.wait_for_selector("#draft-offline")
    assert "恢复网络后将自动" in officer.locator("#draft-offline").inner_text()
    officer.screenshot(path=str(output_dir / "phone-offline-submit.png"))
    officer.context.set_offline(False)
    officer.wait_for_url("**/inbox/")
    assert officer.locator(".alert-success").count() == 1
    assert local_drafts(officer) == []
    with app.app_context():
        done = db.session.get(HumanTask, task_id)
        assert done.status == "completed"
        assert "离线补充" in done.form_data["measures"]
        assert sorted(e["id"] for e in done.form_data["evidence"]) == sorted(r.id for r in rows)
    # The service worker's cache holds the offline page and static files, never a page with case data.
    cached = officer.evaluate(
        "caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys()))))"
        ".then(all => all.flat().map(r => new URL(r.url).pathname))"
    )
    assert "/offline" in cached and all(p == "/offline" or p.startswith("/static/") for p in cached), cached
    assert not console_errors, console_errors


def test_logout_leaves_nothing_on_the_phone(app, client_for, phone, output_dir):
    from tests.test_clue_process import registered

    registered(app, client_for("hp_officer"))
    task_id = open_row(app, "accept")
    leader = phone("hp_leader")
    leader.goto(f"/inbox/tasks/{task_id}")
    leader.evaluate("navigator.serviceWorker.ready.then(() => true)")
    leader.fill("#comment", "受理，请尽快研判")
    time.sleep(0.6)
    assert len(local_drafts(leader)) == 1
    leader.reload()
    assert leader.input_value("#comment") == "受理，请尽快研判"  # restored after a reload
    assert leader.evaluate("caches.keys()") == ["ducha-shell-v1"]
    leader.tap(".navbar-toggler")
    leader.tap(".navbar .dropdown-toggle")
    leader.tap("form[action='/logout'] button")
    leader.wait_for_url("**/login*")
    assert local_drafts(leader) == []
    assert leader.evaluate("caches.keys()") == []
    assert leader.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
    fits(leader, "login", output_dir)
