"""In a real browser: the process administrator sets up a trigger rule and scenario, incoming records hit it,
the dispatch lands in the district's inbox, the officer handles it, the brigade leader closes it, and the
outcome shows on the hit and in the enterprise's score."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.inbox.models import HumanTask
from tests.enterprise_fixtures import add_record, deploy_area_processes, make_enterprise


@pytest.fixture
def enterprise(app):
    with app.app_context():
        deploy_area_processes(app)
        ent = make_enterprise("310101", 42, "上海浦江危化品仓储有限公司", grade="C")
        db.session.commit()
        return ent.id


def _task(app, step: str) -> int:
    with app.app_context():
        [row] = db.session.scalars(select(HumanTask).where(HumanTask.status == "open", HumanTask.step == step))
        return row.id


def test_trigger_hit_to_closed_dispatch_in_the_district_inbox(
    app, enterprise, browser_page, output_dir, console_errors
):
    admin = browser_page("procadmin")
    admin.goto("/triggers/rules")
    admin.fill("#rule-form input[name=code]", "complaint_any")
    admin.fill("#rule-form input[name=name]", "收到投诉举报")
    admin.select_option("select[name=record_kind]", "complaint")
    admin.fill("input[name=condition]", "True")
    admin.click("#rule-form button[type=submit]")
    admin.wait_for_url("**/triggers/rules/*")
    admin.click("#publish-rule")
    admin.wait_for_url("**/triggers/rules")
    admin.fill("input[aria-label=场景编码]", "repeat")
    admin.fill("input[aria-label=场景名称]", "重复投诉")
    admin.fill("input[aria-label=规则编码]", "complaint_any")
    admin.fill("input[aria-label=至少条数]", "2")
    admin.click("#scenario-form button[type=submit]")
    admin.wait_for_url("**/triggers/rules")
    assert "重复投诉" in admin.locator("#scenario-list").inner_text()
    admin.screenshot(path=str(output_dir / "trigger-rules.png"), full_page=True)

    # Two complaints arrive (data exchange); the scheduler round evaluates them and starts the dispatch.
    from app.engine.cli import ROUND_JOBS
    from app.grading.services import today_local

    with app.app_context():
        from app.enterprises.models import Enterprise

        ent = db.session.get(Enterprise, enterprise)
        add_record(ent, "complaint", today_local() - timedelta(days=3), "反映仓库夜间违规装卸", source="12345 市民热线")
        add_record(ent, "complaint", today_local(), "再次反映夜间装卸无人监护", source="12345 市民热线")
        db.session.commit()
        from app.models_base import utcnow

        ROUND_JOBS["triggers.evaluate"](utcnow())
        db.session.commit()

    officer = browser_page("hp_officer")
    officer.goto("/inbox/")
    assert "触发式监管：上海浦江危化品仓储有限公司" in officer.content()
    officer.goto(f"/inbox/tasks/{_task(app, 'handle')}")
    assert "再次反映夜间装卸无人监护" in officer.content()
    officer.check("input[name=handle_result][value=problem]")
    officer.fill("#f-findings", "现场核查发现装卸区未设置警戒，无专人监护")
    officer.fill("#f-measures", "责令停止夜间装卸并限期整改")
    officer.screenshot(path=str(output_dir / "trigger-handle.png"), full_page=True)
    officer.click("button[name=action][value=complete]")
    officer.wait_for_url("**/inbox/")

    leader = browser_page("hp_leader")
    leader.goto(f"/inbox/tasks/{_task(app, 'review')}")
    assert "发现问题并已处理" in leader.content()
    leader.click("button[name=action][value=approve]")
    leader.wait_for_url("**/inbox/")
    leader.goto("/triggers/")
    assert "已办结" in leader.locator("#hit-list").inner_text()
    leader.click("#hit-list >> text=重复投诉")
    assert leader.locator("#hit-outcome").inner_text() == "发现问题并已处理"
    leader.goto(f"/enterprises/{enterprise}")
    assert "触发式监管处置发现问题" in leader.locator("#score-entries").inner_text()
    leader.screenshot(path=str(output_dir / "trigger-closed-enterprise.png"), full_page=True)
    assert console_errors == []
