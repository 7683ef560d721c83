"""One runtime entry point: registration from create_app, start-roles for every caller, the common tail
of every act (the end event after a timer), the initiator's claimed first task, the default title."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from app.engine import runtime, timers
from app.engine.cli import ROUND_JOBS
from app.engine.models import InstanceEvent, ProcessInstance
from app.engine.services import registered
from app.errors import PermissionDenied
from app.extensions import db
from app.inbox import actions
from app.inbox.models import HumanTask
from app.models_base import utcnow
from tests.bpmn_builder import deploy_xml
from tests.conftest import deploy_test_process, user

ROOT = Path(__file__).resolve().parent.parent


def test_importing_route_modules_registers_nothing_create_app_registers_everything(app):
    code = (
        "import app.clues.routes, app.designer.routes, app.alerts.routes, app.plans.routes, "
        "app.accounts_apply.routes, app.inbox.routes\n"
        "from app.engine.services import registered\nfrom app.engine.cli import ROUND_JOBS\n"
        "print(registered(), sorted(ROUND_JOBS))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[] []"
    names = set(registered())
    assert {"inbox.cc", "http.call", "clue.generate_report", "plan.step"} <= names
    assert any(n.startswith("account.") for n in names)
    assert {"alerts.sweep", "clues.scan", "plans.execution"} <= set(ROUND_JOBS)


def _xml(pid: str, *, start_roles: str = "", title_rule: bool = False, lane_first: bool = False) -> str:
    props = []
    if start_roles:
        props.append(f'<spiffworkflow:property name="startRoles" value="{start_roles}" />')
    if title_rule:
        props.append('<spiffworkflow:property name="titleRule" value="{subject}" />')
    fill_assignee = "" if lane_first else '<spiffworkflow:property name="assignee" value="initiator" />'
    lanes = (
        '<bpmn:laneSet id="ls"><bpmn:lane id="l1" name="district_officer"><bpmn:flowNodeRef>fill</bpmn:flowNodeRef>'
        "</bpmn:lane></bpmn:laneSet>"
        if lane_first
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_{pid}" targetNamespace="x">
<bpmn:process id="{pid}" name="现场检查申请" isExecutable="true">
  <bpmn:extensionElements><spiffworkflow:properties>{"".join(props)}</spiffworkflow:properties></bpmn:extensionElements>
  {lanes}
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill" />
  <bpmn:userTask id="fill" name="填写">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="t_fill.schema.json" />{fill_assignee}
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="wait" />
  <bpmn:intermediateCatchEvent id="wait" name="等待一小时"><bpmn:incoming>f2</bpmn:incoming>
    <bpmn:outgoing>f3</bpmn:outgoing>
    <bpmn:timerEventDefinition id="t1"><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="end" />
  <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
</bpmn:process></bpmn:definitions>
"""


def _rows(iid: int) -> list[HumanTask]:
    return list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == "open")))


def test_start_roles_hold_for_domain_modules_too(ctx):
    """A process started from a module page names that page in startRoles; nobody starts it elsewhere."""
    deploy_xml("rt_page", _xml("rt_page", start_roles="rt_module_page,district_leader"))
    with pytest.raises(PermissionDenied, match="您不能发起“现场检查申请”"):
        runtime.start("rt_page", actor=user("hp_officer"))
    db.session.rollback()
    inst = runtime.start("rt_page", actor=user("hp_officer"), entry="rt_module_page")
    assert inst.initiator_id == user("hp_officer").id
    assert runtime.start("rt_page", actor=user("hp_leader")).status == "running"
    # The real modules pass their page: the clue process refuses a start from the generic start page.
    deploy_test_process("approval_demo")
    from app.engine import deploy

    deploy.deploy(deploy.sources_from_files(ROOT / "workflows" / "clue_verification.bpmn"))
    with pytest.raises(PermissionDenied):
        actions.start("clue_verification", actor=user("hp_officer"))


def test_every_act_ends_the_same_way_even_a_timer(ctx):
    """The timer job goes through the runtime: the instance it finishes gets its 办结 history event."""
    deploy_xml("rt_timer", _xml("rt_timer", title_rule=True))
    officer = user("hp_officer")
    inst = actions.start("rt_timer", actor=officer)
    actions.complete(_rows(inst.id)[0], officer, action="complete", form_data={"subject": "仓库"})
    db.session.commit()
    with time_machine.travel(utcnow() + timedelta(hours=1, minutes=1), tick=False):
        assert timers.fire_due(now=utcnow()) == 1
    db.session.expire_all()
    inst = db.session.get(ProcessInstance, inst.id)
    kinds = list(db.session.scalars(select(InstanceEvent.kind).where(InstanceEvent.instance_id == inst.id)))
    assert inst.status == "completed" and kinds[-2:] == ["timer", "end"]


def test_role_offered_first_task_opens_claimed_for_the_initiator(app, login_as):
    with app.app_context():
        deploy_xml("rt_lane", _xml("rt_lane", lane_first=True))
    client = login_as("hp_officer")
    resp = client.post("/inbox/start/rt_lane", data={})
    with app.app_context():
        [row] = _rows(db.session.scalar(select(ProcessInstance.id)))
        assert row.candidate_role == "district_officer"
        assert row.assignee_id == user("hp_officer").id and row.claimed_at is not None
        task_id = row.id
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/inbox/tasks/{task_id}")


def test_default_title_is_the_process_name_and_the_first_text_fields(ctx):
    deploy_xml("rt_title", _xml("rt_title"))
    officer = user("hp_officer")
    inst = actions.start("rt_title", actor=officer)
    assert inst.title == "现场检查申请"
    actions.complete(
        _rows(inst.id)[0], officer, action="complete", form_data={"subject": "久事大厦消防通道", "amount": 3}
    )
    db.session.commit()
    assert db.session.get(ProcessInstance, inst.id).title == "现场检查申请：久事大厦消防通道"
    # An explicit title (a module's) stays as given.
    other = actions.start("rt_title", actor=officer, title="十二月计划")
    actions.complete(_rows(other.id)[0], officer, action="complete", form_data={"subject": "别的"})
    assert other.title == "十二月计划"
