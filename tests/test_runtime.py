"""The runtime through its services: start, inbox rows by lane and scope, DMN, send-back, timers."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.engine import runtime
from app.engine.models import InstanceEvent, ProcessInstance
from app.extensions import db
from app.inbox import actions, queries
from app.inbox.models import HumanTask
from app.models_base import utcnow
from tests.conftest import deploy_test_process, user


@pytest.fixture
def demo(ctx):
    return deploy_test_process("approval_demo")


def _open(instance_id, step=None):
    stmt = select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == "open")
    if step:
        stmt = stmt.where(HumanTask.step == step)
    return list(db.session.scalars(stmt))


def _todo(login):
    return list(db.session.scalars(queries.todo(user(login), queries.Filters())))


def test_start_creates_first_task_for_initiator(demo):
    officer = user("hp_officer")
    inst = actions.start("approval_demo", actor=officer)
    db.session.commit()
    assert inst.number.startswith("CS") and len(inst.number) == 14
    rows = _open(inst.id)
    assert [r.step for r in rows] == ["fill"] and rows[0].assignee_id == officer.id
    assert [t.id for t in _todo("hp_officer")] == [rows[0].id]
    assert _todo("xh_officer") == []


def test_happy_path_lanes_dmn_and_scope(demo):
    officer = user("hp_officer")
    inst = actions.start("approval_demo", actor=officer)
    fill = _open(inst.id)[0]
    actions.complete(
        fill, officer, action="complete", form_data={"subject": "仓库检查", "amount": 20000, "category": "a"}
    )
    db.session.commit()
    review = _open(inst.id, "review")
    assert len(review) == 1 and review[0].candidate_role == "district_leader"
    assert review[0].due_at is not None
    # The Huangpu leader sees it (scope holds the instance's org); the Xuhui leader does not.
    assert [t.id for t in _todo("hp_leader")] == [review[0].id]
    assert _todo("xh_leader") == []
    wf = runtime.load(db.session.get(ProcessInstance, inst.id))
    assert runtime.instance_data(wf)["priority"] == "high"  # from the DMN table
    actions.complete(review[0], user("hp_leader"), action="approve", comment="同意")
    db.session.commit()
    sign = _open(inst.id, "sign")
    assert len(sign) == 1 and [t.id for t in _todo("leader")] == [sign[0].id]
    actions.complete(sign[0], user("leader"), action="approve")
    db.session.commit()
    inst = db.session.get(ProcessInstance, inst.id)
    assert inst.status == "completed" and inst.ended_at is not None
    kinds = [
        e.kind
        for e in db.session.scalars(
            select(InstanceEvent).where(InstanceEvent.instance_id == inst.id).order_by(InstanceEvent.id)
        )
    ]
    assert kinds[0] == "start" and "approve" in kinds and kinds[-1] == "end"


def test_reject_routes_back_by_diagram_and_requires_reason(demo):
    from app.errors import ValidationFailed

    officer, leader = user("hp_officer"), user("hp_leader")
    inst = actions.start("approval_demo", actor=officer)
    actions.complete(
        _open(inst.id)[0], officer, action="complete", form_data={"subject": "检查", "amount": 5, "category": "b"}
    )
    db.session.commit()
    review = _open(inst.id, "review")[0]
    with pytest.raises(ValidationFailed, match="拒绝时必须填写意见"):
        actions.complete(review, leader, action="reject")
    db.session.rollback()
    review = _open(inst.id, "review")[0]
    actions.complete(review, leader, action="reject", comment="材料不全")
    db.session.commit()
    again = _open(inst.id)
    assert [r.step for r in again] == ["fill"] and again[0].assignee_id == officer.id


def test_send_back_to_visited_step_only(demo):
    from app.errors import ValidationFailed

    officer, leader = user("hp_officer"), user("hp_leader")
    inst = actions.start("approval_demo", actor=officer)
    actions.complete(
        _open(inst.id)[0], officer, action="complete", form_data={"subject": "检查", "amount": 5, "category": "b"}
    )
    db.session.commit()
    review = _open(inst.id, "review")[0]
    wf = runtime.load(review.instance)
    assert [v["step"] for v in actions.visited_steps(wf)] == ["fill"]
    with pytest.raises(ValidationFailed):
        actions.return_to(review, leader, target="sign", comment="x")
    db.session.rollback()
    review = _open(inst.id, "review")[0]
    actions.return_to(review, leader, target="fill", comment="请补充材料")
    db.session.commit()
    rows = _open(inst.id)
    assert [r.step for r in rows] == ["fill"] and rows[0].assignee_id == officer.id
    assert db.session.get(HumanTask, review.id).outcome == "return"


def test_stale_completion_is_conflict(demo):
    from app.errors import Conflict

    officer = user("hp_officer")
    inst = actions.start("approval_demo", actor=officer)
    fill = _open(inst.id)[0]
    actions.complete(fill, officer, action="complete", form_data={"subject": "检查", "amount": 5, "category": "b"})
    db.session.commit()
    with pytest.raises(Conflict, match="已由"):
        actions.complete(db.session.get(HumanTask, fill.id), officer, action="complete", form_data={})


def test_boundary_timer_fires_with_controllable_clock(demo):
    from app.engine import timers

    officer, leader = user("hp_officer"), user("hp_leader")
    inst = actions.start("approval_demo", actor=officer)
    actions.complete(
        _open(inst.id)[0], officer, action="complete", form_data={"subject": "检查", "amount": 5, "category": "b"}
    )
    actions.complete(_open(inst.id, "review")[0], leader, action="approve")
    db.session.commit()
    inst = db.session.get(ProcessInstance, inst.id)
    assert inst.next_timer_at is not None
    assert timers.fire_due(now=utcnow()) == 0  # not due yet
    with time_machine.travel(utcnow() + timedelta(hours=1, seconds=5), tick=False):
        assert timers.fire_due(now=utcnow()) == 1
        assert timers.fire_due(now=utcnow()) == 0  # never twice
    db.session.expire_all()
    inst = db.session.get(ProcessInstance, inst.id)
    assert inst.status == "completed"
    assert _open(inst.id) == []
    sign_rows = list(
        db.session.scalars(select(HumanTask).where(HumanTask.instance_id == inst.id, HumanTask.step == "sign"))
    )
    assert [r.status for r in sign_rows] == ["cancelled"]
    wf = runtime.load(inst)
    assert wf.data.get("escalated") is True or runtime.instance_data(wf).get("escalated") is True


def test_message_by_business_key(ctx):
    from app.errors import Conflict, NotFound

    deploy_test_process("message_wait")
    officer = user("hp_officer")
    inst = actions.start("message_wait", actor=officer, business_key="JC-2026-001")
    db.session.commit()
    assert _open(inst.id) == []  # waiting for the message, nobody has work yet
    with pytest.raises(NotFound):
        actions.deliver_message("JC-404", "inspection_result", {})
    actions.deliver_message("JC-2026-001", "inspection_result", {"result": "合格"})
    db.session.commit()
    [row] = _open(inst.id)
    assert row.step == "review" and row.assignee_id == officer.id
    with pytest.raises(Conflict, match="不在等待消息"):
        actions.deliver_message("JC-2026-001", "inspection_result", {})
