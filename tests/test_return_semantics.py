"""撤回 / 拿回 / 退回 as Chinese BPM users know them, and system reminders apart from 催办 (through HTTP)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.inbox import deadlines
from app.inbox.models import HumanTask, Notification
from app.models_base import utcnow
from tests import bpmn_builder
from tests.conftest import deploy_test_process, page_text, user

FILL = {"subject": "仓库检查", "amount": "20000", "category": "a"}


@pytest.fixture
def demo(app):
    with app.app_context():
        deploy_test_process("approval_demo")


def _uid(app, login: str) -> int:
    with app.app_context():
        return user(login).id


def _open(app, iid: int, step: str) -> HumanTask:
    with app.app_context():
        row = db.session.scalar(
            select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.step == step, HumanTask.status == "open")
        )
        assert row is not None, step
        db.session.expunge(row)
        return row


def _start_and_fill(app, officer) -> int:
    resp = officer.post("/inbox/start/approval_demo")
    task_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert officer.post(f"/inbox/tasks/{task_id}/act", data={"action": "complete", **FILL}).status_code == 302
    with app.app_context():
        return db.session.get(HumanTask, task_id).instance_id


def test_return_dialog_offers_the_initiator_asks_the_reason_and_the_task_reopens_filled(app, demo, client_for):
    officer, leader = client_for("hp_officer"), client_for("hp_leader")
    iid = _start_and_fill(app, officer)
    review = _open(app, iid, "review")
    page = page_text(leader.get(f"/inbox/tasks/{review.id}"))
    assert '<option value="initiator">退回发起人（填写申请）</option>' in page and 'name="return_reason"' in page
    resp = leader.post(f"/inbox/tasks/{review.id}/act", data={"action": "return", "target": "initiator"})
    assert resp.status_code == 422 and "退回必须填写原因" in page_text(resp)
    resp = leader.post(
        f"/inbox/tasks/{review.id}/act",
        data={"action": "return", "target": "initiator", "return_reason": "金额与附件不符"},
    )
    assert resp.status_code == 302
    fill = _open(app, iid, "fill")
    assert fill.assignee_id == _uid(app, "hp_officer")
    page = page_text(officer.get(f"/inbox/tasks/{fill.id}"))
    assert 'id="returned-banner"' in page and "黄浦大队长" in page and "原因：金额与附件不符" in page
    assert 'value="仓库检查"' in page and 'value="20000"' in page  # the previous data, not an empty form


def test_the_initiator_withdraws_until_the_first_approver_acts(app, demo, client_for):
    officer, leader = client_for("hp_officer"), client_for("hp_leader")
    iid = _start_and_fill(app, officer)
    assert leader.post(f"/inbox/instances/{iid}/withdraw").status_code == 403  # only the initiator
    assert officer.post(f"/inbox/instances/{iid}/withdraw").status_code == 302
    fill = _open(app, iid, "fill")
    assert fill.assignee_id == _uid(app, "hp_officer")
    assert 'value="仓库检查"' in page_text(officer.get(f"/inbox/tasks/{fill.id}"))
    assert officer.post(f"/inbox/tasks/{fill.id}/act", data={"action": "complete", **FILL}).status_code == 302
    review = _open(app, iid, "review")
    assert leader.post(f"/inbox/tasks/{review.id}/act", data={"action": "claim"}).status_code == 302
    resp = officer.post(f"/inbox/instances/{iid}/withdraw")
    assert resp.status_code == 409 and "已有人处理，不能撤回" in page_text(resp)


def test_an_approver_takes_back_their_own_act_until_the_next_step_acts(app, demo, client_for):
    officer, leader, city = client_for("hp_officer"), client_for("hp_leader"), client_for("leader")
    iid = _start_and_fill(app, officer)
    review = _open(app, iid, "review")
    assert leader.post(f"/inbox/tasks/{review.id}/act", data={"action": "approve"}).status_code == 302
    resp = officer.post(f"/inbox/instances/{iid}/reclaim")
    assert resp.status_code == 409 and "只有上一步的办理人可以拿回" in page_text(resp)
    assert leader.post(f"/inbox/instances/{iid}/reclaim").status_code == 302
    again = _open(app, iid, "review")
    assert again.assignee_id == _uid(app, "hp_leader")
    assert leader.post(f"/inbox/tasks/{again.id}/act", data={"action": "approve"}).status_code == 302
    sign = _open(app, iid, "sign")
    assert city.post(f"/inbox/tasks/{sign.id}/act", data={"action": "claim"}).status_code == 302
    resp = leader.post(f"/inbox/instances/{iid}/reclaim")
    assert resp.status_code == 409 and "下一步已有人处理" in page_text(resp)


@pytest.fixture
def long_sessions(app, monkeypatch):
    """The clock moves by hours between requests of one client."""
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 60 * 48)
    monkeypatch.setitem(app.config, "SESSION_ABSOLUTE_HOURS", 48)


def _one_day_task(app, client_for) -> HumanTask:
    pid = "rs_due"
    node = ("node", "审批", {"assignee": "users:hp_leader", "dueDays": "1"})
    with app.app_context():
        bpmn_builder.deploy_xml(pid, bpmn_builder.linear(pid, [node]))
    officer = client_for("hp_officer")
    resp = officer.post(f"/inbox/start/{pid}")
    task_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert (
        officer.post(f"/inbox/tasks/{task_id}/act", data={"action": "complete", "subject": "事项"}).status_code == 302
    )
    with app.app_context():
        iid = db.session.get(HumanTask, task_id).instance_id
    return _open(app, iid, "node")


def _reminders(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Notification.title).where(Notification.kind == "remind")))


def test_a_task_that_just_arrived_is_not_due_soon(app, client_for, monkeypatch):
    row = _one_day_task(app, client_for)
    with app.app_context():
        deadlines.process_due(utcnow())
        db.session.commit()
    assert _reminders(app) == []  # due in a day, but only just arrived
    with app.app_context(), time_machine.travel(utcnow() + timedelta(hours=12), tick=False):
        deadlines.process_due(utcnow())
        assert _reminders(app) == []
        monkeypatch.setitem(app.config, "REMIND_AT_PERCENT", 50)  # configurable share
        deadlines.process_due(utcnow())
        db.session.commit()
    [title] = _reminders(app)
    assert title.startswith("即将到期") and row.step_name in title


def test_urge_once_per_interval_per_person_whatever_the_system_reminded(app, client_for, long_sessions):
    row = _one_day_task(app, client_for)
    officer, city = client_for("hp_officer"), client_for("leader")
    later = utcnow() + timedelta(hours=19)
    with time_machine.travel(later, tick=False):
        with app.app_context():
            deadlines.process_due(utcnow())  # the system reminds (75 % of the day has passed)
            db.session.commit()
        assert len(_reminders(app)) == 1
        assert officer.post(f"/inbox/tasks/{row.id}/act", data={"action": "urge"}).status_code == 302
        again = officer.post(f"/inbox/tasks/{row.id}/act", data={"action": "urge"})
        assert again.status_code == 409 and "您刚刚已催办过" in page_text(again)
        assert city.post(f"/inbox/tasks/{row.id}/act", data={"action": "urge"}).status_code == 302  # another person
    with time_machine.travel(later + timedelta(minutes=31), tick=False):
        assert officer.post(f"/inbox/tasks/{row.id}/act", data={"action": "urge"}).status_code == 302
    with app.app_context():
        urged = db.session.scalars(select(Notification.user_id).where(Notification.kind == "urge")).all()
        assert urged == [user("hp_leader").id] * 3
