"""退回 / 拿回 / 撤回 / 移动令牌 on steps carrying boundary timers (interrupting and not), run to the end.

tests/data/workflows/timer_steps.bpmn: fill (initiator; non-interrupting 3 h reminder) → review (district
leader; interrupting 2 h timeout → escalate → end) → sign (city leader; non-interrupting 1 h reminder) →
sign rejected goes back to review, approved ends.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.engine import runtime, timers
from app.engine.models import Incident, InstanceEvent, ProcessInstance
from app.errors import WorkflowError
from app.extensions import db
from app.inbox import actions
from app.inbox.models import HumanTask, Notification
from app.models_base import utcnow
from app.processes import operations
from tests.conftest import deploy_test_process, user

FILL = {"subject": "仓库检查", "amount": 100, "category": "a"}


@pytest.fixture
def flow(ctx):
    deploy_test_process("timer_steps")


def _open(iid: int, step: str | None = None) -> list[HumanTask]:
    stmt = select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == "open")
    if step:
        stmt = stmt.where(HumanTask.step == step)
    return list(db.session.scalars(stmt))


def _one(iid: int, step: str) -> HumanTask:
    rows = _open(iid)
    assert [r.step for r in rows] == [step], [r.step for r in rows]
    return rows[0]


def _instance(iid: int) -> ProcessInstance:
    db.session.expire_all()
    return db.session.get(ProcessInstance, iid)


def _healthy(iid: int, step: str, timer_hours: float) -> None:
    """Running, one open row at `step`, no incident, and the earliest timer about `timer_hours` from now."""
    inst = _instance(iid)
    assert inst.status == "running"
    assert db.session.scalar(select(func.count(Incident.id)).where(Incident.instance_id == iid)) == 0
    _one(iid, step)
    left = (inst.next_timer_at - utcnow()).total_seconds() / 3600
    assert abs(left - timer_hours) < 0.1, left


def _to_review(officer) -> int:
    inst = actions.start("timer_steps", actor=officer)
    actions.complete(_one(inst.id, "fill"), officer, action="complete", form_data=FILL)
    db.session.commit()
    return inst.id


def _to_sign(officer) -> int:
    iid = _to_review(officer)
    actions.complete(_one(iid, "review"), user("hp_leader"), action="approve", comment="同意")
    db.session.commit()
    return iid


def _finish(iid: int) -> None:
    """From wherever the instance waits, approve forward to the end."""
    for _ in range(5):
        rows = _open(iid)
        if not rows:
            break
        row = rows[0]
        if row.step == "fill":
            actions.complete(row, user("hp_officer"), action="complete", form_data=FILL)
        elif row.step == "review":
            actions.complete(row, user("hp_leader"), action="approve", comment="同意")
        else:
            actions.complete(row, user("leader"), action="approve", comment="签发")
        db.session.commit()
    inst = _instance(iid)
    assert inst.status == "completed" and inst.next_timer_at is None
    assert db.session.scalar(select(func.count(Incident.id)).where(Incident.instance_id == iid)) == 0


def test_return_from_an_interrupting_timer_step_rearms_the_timers_of_the_step_returned_to(flow):
    iid = _to_review(user("hp_officer"))
    _healthy(iid, "review", 2)
    actions.return_to(_one(iid, "review"), user("hp_leader"), target="initiator", comment="材料不全")
    db.session.commit()
    _healthy(iid, "fill", 3)  # the review timeout is gone, the fill reminder armed again
    _finish(iid)


def test_return_from_a_non_interrupting_timer_step_then_the_timeout_still_fires(flow):
    iid = _to_sign(user("hp_officer"))
    _healthy(iid, "sign", 1)
    actions.return_to(_one(iid, "sign"), user("leader"), target="review", comment="请复核")
    db.session.commit()
    _healthy(iid, "review", 2)
    # The re-armed interrupting timer of the step returned to fires and takes its path to the end.
    with time_machine.travel(utcnow() + timedelta(hours=2, minutes=5), tick=False):
        assert timers.fire_due(now=utcnow()) == 1
    inst = _instance(iid)
    assert inst.status == "completed" and _open(iid) == []
    done = [t for t in runtime.load(inst).get_tasks() if t.task_spec.bpmn_id == "escalate"]
    assert [t.data.get("escalated") for t in done] == [True]


def test_take_back_from_a_step_with_a_reminder_timer(flow):
    iid = _to_sign(user("hp_officer"))
    leader = user("hp_leader")
    actions.take_back(_instance(iid), leader, kind="take_back")
    db.session.commit()
    _healthy(iid, "review", 2)
    assert _one(iid, "review").assignee_id == leader.id
    _finish(iid)


def test_withdraw_from_a_step_with_a_timeout_timer(flow):
    officer = user("hp_officer")
    iid = _to_review(officer)
    actions.take_back(_instance(iid), officer, kind="withdraw")
    db.session.commit()
    _healthy(iid, "fill", 3)
    _finish(iid)


@pytest.mark.parametrize("target, hours", [("fill", 3), ("review", 2)])
def test_admin_moves_the_token_back_from_a_timer_step(flow, target, hours):
    iid = _to_sign(user("hp_officer"))
    operations.move(_instance(iid), user("procadmin"), target, "数据有误")
    db.session.commit()
    _healthy(iid, target, hours)
    _finish(iid)


def test_rejection_loop_back_to_the_timer_step_and_on_to_the_end(flow):
    iid = _to_sign(user("hp_officer"))
    actions.complete(_one(iid, "sign"), user("leader"), action="reject", comment="再审")
    db.session.commit()
    _healthy(iid, "review", 2)
    _finish(iid)


def test_a_reminder_timer_notifies_the_current_holders_and_keeps_the_task(flow):
    iid = _to_sign(user("hp_officer"))
    before = db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "remind"))
    with time_machine.travel(utcnow() + timedelta(hours=1, minutes=5), tick=False):
        assert timers.fire_due(now=utcnow()) == 1
    row = _one(iid, "sign")
    notes = list(db.session.scalars(select(Notification).where(Notification.kind == "remind")))
    assert before == 0 and [n.user_id for n in notes] == [user("leader").id]
    assert "签发提醒" in notes[0].title and notes[0].url == f"/inbox/tasks/{row.id}"
    assert (
        db.session.scalar(
            select(InstanceEvent).where(InstanceEvent.instance_id == iid, InstanceEvent.kind == "timer")
        ).step
        == "sign_remind"
    )
    _finish(iid)


def test_a_timer_on_a_suspended_instance_does_nothing(flow):
    iid = _to_review(user("hp_officer"))
    operations.suspend(_instance(iid), user("procadmin"), "核查")
    db.session.commit()
    with time_machine.travel(utcnow() + timedelta(hours=3), tick=False):
        assert timers.fire_due(now=utcnow()) == 0
        inst = _instance(iid)
        assert inst.status == "suspended" and runtime.fire_timers(inst) == []
    operations.resume(_instance(iid), user("procadmin"))
    db.session.commit()
    _one(iid, "review")


SCRIPT_AFTER_FILL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_rt_calc" targetNamespace="x">
<bpmn:process id="rt_calc" name="比例计算" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill" />
  <bpmn:userTask id="fill" name="填写金额">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="assignee" value="initiator" />
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="calc" />
  <bpmn:scriptTask id="calc" name="计算比例"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    <bpmn:script>ratio = 100 / amount</bpmn:script></bpmn:scriptTask>
  <bpmn:sequenceFlow id="f3" sourceRef="calc" targetRef="confirm" />
  <bpmn:userTask id="confirm" name="确认">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="assignee" value="initiator" />
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
  <bpmn:sequenceFlow id="f4" sourceRef="confirm" targetRef="end" />
  <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
</bpmn:process></bpmn:definitions>
"""


def test_an_act_that_would_break_the_instance_is_rolled_back_with_a_chinese_message(ctx):
    from app.engine import deploy

    deploy.deploy(deploy.Sources("rt_calc.bpmn", SCRIPT_AFTER_FILL, {}, {}, {}))
    officer = user("hp_officer")
    iid = actions.start("rt_calc", actor=officer).id
    db.session.commit()
    with pytest.raises(
        WorkflowError, match=r"提交失败：步骤「计算比例」执行出错（.*division by zero.*）。本次操作已撤销"
    ):
        actions.complete(_one(iid, "fill"), officer, action="complete", form_data={"amount": 0})
    db.session.rollback()
    inst = _instance(iid)
    assert inst.status == "running" and _one(iid, "fill").status == "open"
    assert db.session.scalar(select(func.count(Incident.id)).where(Incident.instance_id == iid)) == 0
    actions.complete(_one(iid, "fill"), officer, action="complete", form_data={"amount": 4})
    db.session.commit()
    actions.complete(_one(iid, "confirm"), officer, action="complete", form_data={})
    db.session.commit()
    assert _instance(iid).status == "completed"
    # 撤回 of the confirmation re-runs nothing that fails; moving the token back onto the script with a
    # value it cannot divide by is refused the same way, and the instance stays where it was.
    iid2 = actions.start("rt_calc", actor=officer).id
    actions.complete(_one(iid2, "fill"), officer, action="complete", form_data={"amount": 5})
    db.session.commit()
    wf = runtime.load(_instance(iid2))
    calc = next(t for t in wf.get_tasks() if t.task_spec.bpmn_id == "calc")
    with pytest.raises(WorkflowError, match="重算失败：步骤「计算比例」执行出错"):
        runtime.reset(_instance(iid2), wf, str(calc.id), data={**calc.data, "amount": 0}, strict="重算")
    db.session.rollback()
    assert _instance(iid2).status == "running" and _one(iid2, "confirm")


def test_take_back_leaving_a_step_with_a_timeout_timer(flow):
    officer = user("hp_officer")
    iid = _to_review(officer)
    actions.take_back(_instance(iid), officer, kind="reclaim")
    db.session.commit()
    _healthy(iid, "fill", 3)
    assert _one(iid, "fill").assignee_id == officer.id
    _finish(iid)
