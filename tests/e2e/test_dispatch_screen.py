"""The one screen in a real browser, driven by the device simulator process: positions move on the map
(SSE), a camera's live stream plays (the video element advances), and a dispatch reaches the unit's
inbox and closes there."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from sqlalchemy import select

from app.dispatch import devices, gateway
from app.dispatch.models import Device, DispatchRecord
from app.engine import deploy
from app.extensions import db
from app.orgs.models import Organisation
from tests.conftest import user
from tests.dispatch_support import TOKEN, sim  # noqa: F401  (fixture)


def _poll(app):
    with app.app_context():
        devices.apply_positions(gateway.from_config(app.config).positions())
        db.session.commit()


def test_positions_move_video_plays_dispatch_closes(app, sim, browser_page, output_dir, console_errors, monkeypatch):  # noqa: F811
    for key, value in (("GATEWAY_URL", sim.base), ("GATEWAY_TOKEN", TOKEN), ("DISPATCH_SSE_EVERY", 0.5)):
        monkeypatch.setitem(app.config, key, value)
    sim.fault(count=0)
    with app.app_context():
        deploy.deploy(deploy.sources_from_files(Path(app.config["WORKFLOWS_DIR"]) / "dispatch_task.bpmn"))
        hp = db.session.scalar(select(Organisation).where(Organisation.code == "310101"))
        cam = devices.register_device(code="CAM0006", kind="camera", name="黄浦记录仪006", org=hp)
        devices.register_device(code="VEH0002", kind="vehicle", name="沪A·执002", org=hp)
        devices.bind(cam, user("hp_officer"))
        db.session.commit()
        cam_id = cam.id
    _poll(app)
    page = browser_page("city_officer")
    page.goto("/dispatch/")
    page.wait_for_function("() => window.ducha_dispatch && window.ducha_dispatch.devices.size === 2")
    before = page.evaluate(
        f"() => [window.ducha_dispatch.devices.get({cam_id}).lon, window.ducha_dispatch.devices.get({cam_id}).lat]"
    )
    for _ in range(3):
        time.sleep(0.8)
        _poll(app)
    page.wait_for_function("() => window.ducha_dispatch.moves > 0", timeout=10_000)
    after = page.evaluate(
        f"() => [window.ducha_dispatch.devices.get({cam_id}).lon, window.ducha_dispatch.devices.get({cam_id}).lat]"
    )
    assert after != before and "实时位置：已更新" in page.inner_text("#live-status")

    if shutil.which("ffmpeg"):
        page.evaluate(f"() => window.ducha_dispatch.showDevice(window.ducha_dispatch.devices.get({cam_id}))")
        page.click("#btn-live")
        page.wait_for_function("() => document.getElementById('live-video').currentTime > 0.5", timeout=20_000)
        t1 = page.evaluate("() => document.getElementById('live-video').currentTime")
        time.sleep(1.5)
        assert page.evaluate("() => document.getElementById('live-video').currentTime") > t1  # live, advancing
    else:
        print("ffmpeg is not installed: the live-stream part of this test was not run")

    # dispatch: a new on-site event picked on the map, the nearest free unit suggested, sent
    page.on("dialog", lambda d: d.accept("浏览器调度测试事件"))
    page.click("#manual-event")
    box = page.locator("#dispatch-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#dispatch-units button[data-unit]")
    assert "黄浦队员" in page.inner_text("#dispatch-units")
    page.click(f"#dispatch-units button[data-unit='{cam_id}']")
    page.wait_for_function("() => document.getElementById('dispatch-message').textContent.includes('已派发')")
    page.wait_for_function("() => document.getElementById('record-list').textContent.includes('浏览器调度测试事件')")
    page.screenshot(path=str(output_dir / "dispatch-screen.png"))

    officer = browser_page("hp_officer")
    officer.goto("/inbox/")
    officer.click("text=浏览器调度测试事件")
    officer.wait_for_url("**/inbox/tasks/*")
    officer.check("input[name=arrived][value=arrived]")
    officer.fill("textarea[name=result]", "已到场核实，现场无险情")
    officer.click("button[name=action][value=complete]")
    officer.wait_for_url("**/inbox/")
    with app.app_context():
        rec = db.session.scalar(select(DispatchRecord))
        assert rec.status == "closed" and rec.outcome == "已到场核实，现场无险情"
        assert db.session.get(Device, cam_id).busy is False
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
