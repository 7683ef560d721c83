"""An administrator's BPMN runs as drawn or validation says why not: `approved` from the form, lanes and
assignees naming real roles and users."""

from __future__ import annotations

import json

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app.engine import deploy
from app.engine.errors import SpecInvalid
from app.engine.models import ProcessInstance
from app.extensions import db
from app.inbox.models import HumanTask
from tests.conftest import user

FORM = json.dumps(
    {
        "type": "object",
        "properties": {
            "subject": {"type": "string", "title": "事项"},
            "approved": {"type": "boolean", "title": "同意"},
        },
    }
)


def _xml(pid: str, *, kind: str = "task", lane: str = "district_leader", assignee: str = "", lane_role="") -> str:
    extra = f'<spiffworkflow:property name="assignee" value="{assignee}" />' if assignee else ""
    role = (
        "<bpmn:extensionElements><spiffworkflow:properties>"
        f'<spiffworkflow:property name="role" value="{lane_role}" />'
        "</spiffworkflow:properties></bpmn:extensionElements>"
        if lane_role
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_{pid}" targetNamespace="x">
<bpmn:process id="{pid}" name="表单决定流向" isExecutable="true">
  <bpmn:laneSet id="ls">
    <bpmn:lane id="lane_fill" name="district_officer"><bpmn:flowNodeRef>fill</bpmn:flowNodeRef></bpmn:lane>
    <bpmn:lane id="lane_check" name="{lane}">{role}<bpmn:flowNodeRef>check</bpmn:flowNodeRef></bpmn:lane>
  </bpmn:laneSet>
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill" />
  <bpmn:userTask id="fill" name="填写"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
  </bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="check" />
  <bpmn:userTask id="check" name="核对">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="decide.schema.json" />
      <spiffworkflow:property name="kind" value="{kind}" />{extra}
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
  <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="gw" />
  <bpmn:exclusiveGateway id="gw" default="f_no"><bpmn:incoming>f3</bpmn:incoming>
    <bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing></bpmn:exclusiveGateway>
  <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="end_ok">
    <bpmn:conditionExpression>approved == True</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="end_no" />
  <bpmn:endEvent id="end_ok" name="同意"><bpmn:incoming>f_yes</bpmn:incoming></bpmn:endEvent>
  <bpmn:endEvent id="end_no" name="不同意"><bpmn:incoming>f_no</bpmn:incoming></bpmn:endEvent>
</bpmn:process></bpmn:definitions>
"""


def _sources(pid: str, **kw) -> deploy.Sources:
    return deploy.Sources(f"{pid}.bpmn", _xml(pid, **kw), {}, {"decide.schema.json": FORM}, {})


def _ended_at(iid: int) -> str:
    from app.engine import runtime

    inst = db.session.get(ProcessInstance, iid)
    wf = runtime.load(inst)
    done = wf.get_tasks(state=TaskState.COMPLETED)
    ends = [t.task_spec.bpmn_id for t in done if t.task_spec.bpmn_id in ("end_ok", "end_no")]
    return ends[0] if ends else ""


def _run_to_check(client_for, app, pid: str) -> int:
    officer = client_for("hp_officer")
    resp = officer.post(f"/inbox/start/{pid}", data={})
    assert resp.status_code == 302
    with app.app_context():
        iid = db.session.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id.desc()))
        fill = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.step == "fill"))
        fill_id = fill.id
    assert officer.post(f"/inbox/tasks/{fill_id}/act", data={"action": "complete"}).status_code == 302
    return iid


def _check_row(app, iid: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(HumanTask.id).where(
                HumanTask.instance_id == iid, HumanTask.step == "check", HumanTask.status == "open"
            )
        )


@pytest.mark.parametrize("ticked, end", [(False, "end_no"), (True, "end_ok")])
def test_a_task_node_routes_by_the_approved_value_the_person_entered(app, client_for, ticked, end):
    with app.app_context():
        deploy.deploy(_sources("mr_task"))
        db.session.commit()
    iid = _run_to_check(client_for, app, "mr_task")
    form = {"action": "complete", "subject": "核对材料"} | ({"approved": "on"} if ticked else {})
    resp = client_for("hp_leader").post(f"/inbox/tasks/{_check_row(app, iid)}/act", data=form)
    assert resp.status_code == 302
    with app.app_context():  # unticked ends on the rejection path: 已拒绝, not 已办结
        assert db.session.get(ProcessInstance, iid).status == ("completed" if ticked else "rejected")
        assert _ended_at(iid) == end


def test_an_approval_node_routes_by_its_buttons(app, client_for):
    form = json.dumps({"type": "object", "properties": {"subject": {"type": "string", "title": "事项"}}})
    with app.app_context():
        src = _sources("mr_appr", kind="approval")
        deploy.deploy(deploy.Sources(src.bpmn_filename, src.bpmn, {}, {"decide.schema.json": form}, {}))
        db.session.commit()
    iid = _run_to_check(client_for, app, "mr_appr")
    resp = client_for("hp_leader").post(
        f"/inbox/tasks/{_check_row(app, iid)}/act", data={"action": "reject", "comment": "不同意"}
    )
    assert resp.status_code == 302
    with app.app_context():
        assert _ended_at(iid) == "end_no"


def test_an_approval_node_whose_form_has_approved_is_refused_at_validation(ctx):
    problems = deploy.validate_sources(_sources("mr_clash", kind="approval"))
    [clash] = [p for p in problems if p.element_id == "check"]
    assert "含字段 approved" in clash.message and "kind 改为 task" in clash.message
    with pytest.raises(SpecInvalid):
        deploy.deploy(_sources("mr_clash", kind="approval"))


def test_a_lane_naming_no_role_is_a_validation_error_listing_the_roles(ctx):
    problems = deploy.validate_sources(_sources("mr_lane", lane="Reviewers"))
    [lane] = [p for p in problems if p.element_id == "lane_check"]
    assert lane.severity == "error" and "泳道「Reviewers」不是已有的角色代码" in lane.message
    assert "district_leader（" in lane.message and "city_leader（" in lane.message
    # A task in that lane with its own assignee does not need the lane: no problem then.
    ok = deploy.validate_sources(_sources("mr_lane_ok", lane="Reviewers", assignee="role:district_leader"))
    assert [p for p in ok if p.severity == "error"] == []
    # A lane named in Chinese says its role in a property: that role must exist.
    named = deploy.validate_sources(_sources("mr_lane_cn", lane="大队领导", lane_role="district_leader"))
    assert [p for p in named if p.severity == "error"] == []
    wrong = deploy.validate_sources(_sources("mr_lane_cn2", lane="大队领导", lane_role="district_boss"))
    [bad] = [p for p in wrong if p.element_id == "lane_check"]
    assert "角色属性 role「district_boss」不是已有的角色代码" in bad.message


@pytest.mark.parametrize(
    "assignee, expected",
    [
        ("role:ghost_role", "角色「ghost_role」不存在；可用的角色：audit_admin（审计管理员）、city_leader（总队领导）"),
        ("users:hp_leader,nobody", "用户「nobody」不存在"),
        ("zhangsan", "办理人 assignee「zhangsan」无法识别"),
        ("expr:(", "办理人表达式「(」有语法错误"),
    ],
)
def test_an_assignee_naming_no_role_or_user_is_a_validation_error(ctx, assignee, expected):
    problems = deploy.validate_sources(_sources("mr_who", assignee=assignee))
    [problem] = [p for p in problems if p.element_id == "check"]
    assert expected in problem.message
    for good in ("role:district_leader", "users:hp_leader", "initiator", "leader_up:2", "role:{handle_role}"):
        assert [p for p in deploy.validate_sources(_sources("mr_who", assignee=good)) if p.severity == "error"] == []
    assert user("hp_leader") is not None


DEADLINE_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Defs_mr_deadline" name="期限"
  namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="mr_deadline" name="办理期限">
    <decisionTable id="dt" hitPolicy="FIRST">
      <input id="in_amount" label="金额"><inputExpression id="ie" typeRef="integer"><text>amount</text>
      </inputExpression></input>
      <output id="out_days" label="期限" name="deadline_workdays" typeRef="integer" />
      <rule id="r_big"><inputEntry id="ue1"><text>&gt;= 10000</text></inputEntry>
        <outputEntry id="oe1"><text>2</text></outputEntry></rule>
      <rule id="r_small"><inputEntry id="ue2"><text>-</text></inputEntry>
        <outputEntry id="oe2"><text>7</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def _deadline_xml() -> str:
    return """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_mr_due" targetNamespace="x">
<bpmn:process id="mr_due" name="期限来自规则" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="rule" />
  <bpmn:businessRuleTask id="rule" name="确定期限">
    <bpmn:extensionElements><spiffworkflow:calledDecisionId>mr_deadline</spiffworkflow:calledDecisionId>
    </bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
  </bpmn:businessRuleTask>
  <bpmn:sequenceFlow id="f2" sourceRef="rule" targetRef="handle" />
  <bpmn:userTask id="handle" name="办理">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="assignee" value="role:district_leader" />
      <spiffworkflow:property name="dueWorkingDays" value="deadline_workdays" />
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
  <bpmn:sequenceFlow id="f3" sourceRef="handle" targetRef="end" />
  <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
</bpmn:process></bpmn:definitions>
"""


@pytest.mark.parametrize("amount, workdays", [(20000, 2), (50, 7)])
def test_a_deadline_from_a_dmn_output_is_the_task_due_date_in_the_inbox(app, client_for, amount, workdays):
    from app.engine.calendar import get_calendar
    from app.inbox import actions
    from app.models_base import utcnow

    with app.app_context():
        deploy.deploy(deploy.Sources("mr_due.bpmn", _deadline_xml(), {"mr_deadline.dmn": DEADLINE_DMN}, {}, {}))
        before = utcnow()
        inst = actions.start("mr_due", actor=user("hp_officer"), data={"amount": amount})
        db.session.commit()
        row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == inst.id))
        expected = get_calendar().add_working_days(before, workdays)
        assert row.due_at is not None and abs((row.due_at - expected).total_seconds()) < 60
        shown = row.due_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    page = client_for("hp_leader").get("/inbox/").get_data(as_text=True)
    assert shown in page


def test_a_deadline_setting_must_be_days_or_an_expression(ctx):
    xml = _deadline_xml().replace('value="deadline_workdays"', 'value="deadline workdays"')
    problems = deploy.validate_sources(deploy.Sources("mr_due.bpmn", xml, {"mr_deadline.dmn": DEADLINE_DMN}, {}, {}))
    [bad] = [p for p in problems if p.element_id == "handle"]
    assert "期限 dueWorkingDays「deadline workdays」应为天数或表达式" in bad.message
