"""The big screen at 1920x1080 in chromium: figures drawn, refreshed without a reload, fits the screen;
a screenshot goes to test-output/bigscreen.png."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from app.extensions import db
from app.models_base import utcnow
from tests.conftest import TEST_PASSWORD
from tests.efficiency_fixtures import clue, instance, org, task

PORT = 7431  # this module's own server, inside the port range given to the efficiency work
SHOT = Path(__file__).resolve().parents[2] / "test-output" / "bigscreen.png"


@pytest.fixture(scope="module")
def screen_server(app):
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", PORT, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="bigscreen-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{PORT}"
    server.shutdown()
    thread.join(timeout=5)


def test_big_screen_1920x1080(app, browser, screen_server):
    with app.app_context():
        now = utcnow()
        hp = org("310101")
        for _ in range(3):
            clue(hp, registered=now)
        inst = instance("trigger_dispatch", hp)
        task(inst, "handle", created=now - timedelta(days=2), due=now - timedelta(hours=1))
        db.session.commit()
    context = browser.new_context(base_url=screen_server, locale="zh-CN", viewport={"width": 1920, "height": 1080})
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto("/login")
        page.fill("#login", "leader")
        page.fill("#password", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        page.goto("/screen/?refresh=2")
        page.wait_for_selector("body[data-loaded]")  # the page's CSP forbids eval: no wait_for_function
        assert page.inner_text("#kpi-clues") == "3" and page.inner_text("#kpi-overdue") == "1"
        page.evaluate("window.__stayed = true")
        with app.app_context():
            clue(org("310104"), registered=utcnow())
            db.session.commit()
        expect(page.locator("#kpi-clues")).to_have_text("4", timeout=15_000)
        assert page.evaluate("window.__stayed === true")  # refreshed in place, not reloaded
        size = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        assert size[0] <= 1920 and size[1] <= 1080, size  # one screen, no scrolling
        font = page.evaluate("parseFloat(getComputedStyle(document.getElementById('kpi-clues')).fontSize)")
        assert font >= 72  # readable from across a room
        assert page.locator(".screen-chart canvas").count() >= 4
        page.wait_for_selector("body[data-map=shanghai]")  # overdue by district drawn on the district map
        series = page.evaluate(
            "(() => { const o = echarts.getInstanceByDom(document.querySelector('[data-panel=overdue]')).getOption();"
            " return o.series[0].data.filter(d => d.value > 0).map(d => [d.name, d.value]); })()"
        )
        assert series == [["黄浦区", 1]]
        SHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOT))
        assert SHOT.stat().st_size > 20_000
        assert not errors, errors
    finally:
        context.close()
