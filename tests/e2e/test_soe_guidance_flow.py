"""A real browser: the corps sends a 监管指导建议 with a deadline, the group answers it from its inbox, the
corps reads the thread with the feedback and the group's read receipt; the 典型隐患 chart is drawn."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from app.engine.runtime import SHANGHAI
from app.exchange.sources import soe as soe_source
from app.extensions import db
from tests.conftest import user


def test_guidance_sent_answered_and_read_in_browser(app, browser_page, output_dir, console_errors):
    from app.engine import deploy

    with app.app_context():
        deploy.deploy(deploy.sources_from_files(Path(app.config["WORKFLOWS_DIR"]) / "soe_guidance.bpmn"))
        rows = [
            {
                "record_no": f"E2E-{i}",
                "unit_code": "SOE-JS-01",
                "inspected_on": "2026-11-0" + str(i + 1),
                "inspector": "王伟",
                "hazards": 1,
                "hazard_items": "消防通道堵塞" if i else "安全出口锁闭",
            }
            for i in range(3)
        ]
        assert soe_source.submit(user("soe"), "soe_inspection", rows, channel="api").ok
        db.session.commit()
    deadline = (datetime.now(SHANGHAI).date() + timedelta(days=5)).isoformat()
    corps = browser_page("chief")
    corps.goto("/soe/guidance")
    corps.click("#guidance-form button")  # empty form: the server's Chinese messages
    assert corps.locator("text=请填写标题").first.is_visible()
    corps.goto("/soe/guidance")
    corps.select_option("#g_group", label="上海久事（集团）有限公司")
    corps.fill("#g_title", "浏览器端指导建议：排查消防通道")
    corps.fill("#g_body", "请集团组织所属单位排查消防通道堵塞问题并反馈整改情况。")
    corps.fill("#g_deadline", deadline)
    corps.click("#guidance-form button")
    corps.wait_for_url("**/soe/guidance/*")
    assert "待反馈" in corps.locator("h1").inner_text()

    group = browser_page("soe")
    group.goto("/inbox/")
    group.click("text=浏览器端指导建议：排查消防通道")
    group.wait_for_url("**/inbox/tasks/*")
    group.fill("#f-feedback", "已完成排查，2 处通道堵塞已清理。")
    group.click("button[name=action][value=complete]")
    group.wait_for_url("**/inbox/")
    group.goto("/soe/typical/hazard")
    group.wait_for_selector("[data-soe-part=ranking] canvas")
    group.screenshot(path=str(output_dir / "soe-typical-hazards.png"), full_page=True)

    corps.reload()
    thread = corps.locator("#thread").inner_text()
    assert "意见反馈" in thread and "2 处通道堵塞已清理" in thread
    assert "久事安全经理" in corps.locator("#receipts").inner_text()  # the group's read receipt
    corps.screenshot(path=str(output_dir / "soe-guidance-thread.png"), full_page=True)
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors


def test_appraisal_history_chart_in_browser(app, browser_page, output_dir, console_errors):
    from app.appraisal import compute, process, schemes

    with app.app_context():
        s = schemes.ensure_defaults()
        for period in ("2026-09", "2026-10"):
            r = process.create_round(s, period, actor=user("chief"), reviewers="chief")
            compute.compute_round(r)
            r.status = "closed"
        db.session.commit()
    page = browser_page("hp_officer")
    page.goto("/appraisal/mine")
    page.wait_for_selector("[data-appraisal-trend] canvas")
    assert page.locator("#history tbody tr").count() == 2
    page.screenshot(path=str(output_dir / "appraisal-history.png"), full_page=True)
    assert not console_errors, console_errors
