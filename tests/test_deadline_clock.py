"""The statutory deadline clock (extend / pause with an approved reason) and the editable calendar."""

from __future__ import annotations

from datetime import date, timedelta

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.inbox.models import HumanTask
from app.models_base import utcnow
from tests import bpmn_builder
from tests.conftest import page_text


def _flow(app, login_as):
    with app.app_context():
        bpmn_builder.deploy_xml(
            "clk",
            bpmn_builder.linear(
                "clk",
                [
                    (
                        "node",
                        "审核",
                        {
                            "assignee": "users:hp_officer",
                            "dueWorkingDays": "3",
                            "timeoutAction": "auto_reject",
                            "remindTimes": "0",
                        },
                    )
                ],
            ),
        )
    starter = login_as("xh_officer")
    resp = starter.post("/inbox/start/clk")
    fill = int(resp.headers["Location"].rsplit("/", 1)[1])
    starter.post(f"/inbox/tasks/{fill}/act", data={"action": "complete", "subject": "期限测试"})
    with app.app_context():
        row = db.session.scalar(select(HumanTask).where(HumanTask.step == "node"))
        return row.id, row.due_at


def _due(app, task_id):
    with app.app_context():
        return db.session.get(HumanTask, task_id).due_at


def test_extension_needs_reason_and_approval_in_scope(app, login_as):
    task_id, due = _flow(app, login_as)
    me = login_as("hp_officer")
    assert me.post(f"/inbox/deadlines/tasks/{task_id}", data={"kind": "extend", "days": "2"}).status_code == 422
    assert (
        me.post(
            f"/inbox/deadlines/tasks/{task_id}", data={"kind": "extend", "days": "2", "reason": "等待检测报告"}
        ).status_code
        == 302
    )
    assert _due(app, task_id) == due  # nothing changes before approval
    # A leader of another district neither sees nor decides it.
    assert "期限测试" not in page_text(login_as("xh_leader").get("/inbox/deadlines/"))
    with app.app_context():
        from app.inbox.models import DeadlineChange

        change_id = db.session.scalar(select(DeadlineChange.id))
    assert (
        login_as("xh_leader").post(f"/inbox/deadlines/{change_id}/decide", data={"decision": "approve"}).status_code
        == 403
    )
    leader = login_as("hp_leader")
    assert "等待检测报告" in page_text(leader.get("/inbox/deadlines/"))
    assert leader.post(f"/inbox/deadlines/{change_id}/decide", data={"decision": "approve"}).status_code == 302
    with app.app_context():
        from app.engine.calendar import get_calendar

        assert _due(app, task_id) == get_calendar().add_working_days(due, 2)
    again = leader.post(f"/inbox/deadlines/{change_id}/decide", data={"decision": "approve"})
    assert again.status_code == 409


def test_pause_stops_timeout_action_until_resumed(app, login_as):
    from app.inbox import deadlines

    task_id, due = _flow(app, login_as)
    me = login_as("hp_officer")
    me.post(f"/inbox/deadlines/tasks/{task_id}", data={"kind": "pause", "reason": "企业停产整顿"})
    with app.app_context():
        from app.inbox.models import DeadlineChange

        change_id = db.session.scalar(select(DeadlineChange.id))
    login_as("hp_leader").post(f"/inbox/deadlines/{change_id}/decide", data={"decision": "approve"})
    assert "计时已暂停" in page_text(me.get(f"/inbox/tasks/{task_id}"))
    with time_machine.travel(utcnow() + timedelta(days=10), tick=False), app.app_context():
        assert deadlines.process_due()["decided"] == 0  # paused: no timeout action
    with time_machine.travel(utcnow() + timedelta(days=10), tick=False):
        me2 = login_as("hp_officer")
        assert me2.post(f"/inbox/deadlines/tasks/{task_id}/resume").status_code == 302
    assert _due(app, task_id) > due + timedelta(days=9)


def test_calendar_admin_corrects_a_day(app, login_as):
    admin = login_as("admin")
    page = page_text(admin.get("/admin/calendar/?year=2025"))
    assert "2025-10-01" in page and "2025-09-28" in page  # National Day and its make-up Sunday
    assert login_as("hp_officer").get("/admin/calendar/").status_code == 403
    assert (
        admin.post("/admin/calendar/", data={"day": "2026-12-31", "working": "0", "note": "临时调休"}).status_code
        == 302
    )
    with app.app_context():
        from app.engine.calendar import get_calendar

        assert not get_calendar().is_working_day(date(2026, 12, 31))
    admin.post("/admin/calendar/", data={"day": "2026-12-31", "action": "clear"})
    with app.app_context():
        from app.engine.calendar import get_calendar

        assert get_calendar().is_working_day(date(2026, 12, 31))
    bad = admin.post("/admin/calendar/", data={"day": "not-a-date"})
    assert bad.status_code == 422 and "日期格式不正确" in page_text(bad)
