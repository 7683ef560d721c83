"""流程预测 on the instance page: every step to an end event with the units that will act; gateways that need
data not yet entered show each branch with its condition in words; gateways on data already entered are
followed. The clue process is checked at every step."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.clues.models import Clue
from app.engine import deploy
from app.engine.models import ProcessInstance
from app.engine.predict import PredictedStep, predict
from app.extensions import db
from app.inbox import actions
from app.inbox.models import HumanTask
from tests.conftest import DATA, page_text, user
from tests.test_clue_process import (  # noqa: F401  (fixtures)
    accept,
    clue_process,
    dispatch,
    fast_pdf,
    feedback,
    handle,
    judge,
    registered,
)


def flat(steps: list[PredictedStep], path: str = "") -> list[tuple[str, str, str]]:
    """(branch path, step id, people) of every predicted step, depth first."""
    out = []
    for s in steps:
        out.append((path, s.step, "、".join(s.people)))
        for b in s.branches:
            out += flat(b.steps, f"{path}/{b.condition}")
    return out


def _predict(app, instance_id: int) -> list[PredictedStep]:
    with app.app_context():
        return predict(db.session.get(ProcessInstance, instance_id))


def _instance(app, clue_id: int) -> int:
    with app.app_context():
        return db.session.get(Clue, clue_id).instance_id


@pytest.mark.usefixtures("clue_process", "fast_pdf")
def test_clue_prediction_at_every_step(app, client_for):
    officer = client_for("hp_officer")
    clue_id = registered(app, officer)
    inst = _instance(app, clue_id)

    # 受理审批: everything ahead, each decision not made yet shown as branches in words.
    steps = _predict(app, inst)
    assert steps[0].step == "accept" and steps[0].current and steps[0].people == ["黄浦区·大队领导"]
    rows = flat(steps)
    accepted = "/若 审批通过"
    verifiable = f"{accepted}/若 是否具备核查条件 = 具备核查条件"
    assert ("/其他情况", "end_not_accepted", "") in rows
    assert (accepted, "judge", "指挥中心·总队执法人员") in rows
    assert (f"{accepted}/其他情况", "end_unverifiable", "") in rows
    # The unit that will handle: the clue's district unless 派单 chooses another; the sections review.
    assert (verifiable, "handle", "黄浦区·大队执法人员") in rows
    assert (verifiable, "feedback", "黄浦区·大队领导") in rows
    assert (verifiable, "review", "指挥中心·处室负责人") in rows
    assert (f"{verifiable}/若 审批通过", "end_closed", "") in rows
    assert (f"{verifiable}/其他情况", "handle", "") in rows  # 退回修改 goes back to 处理
    page = page_text(officer.get(f"/inbox/instances/{inst}"))
    assert "若 是否具备核查条件 = 具备核查条件" in page and "回到「处理」" in page and "结束：闭环" in page

    accept(app, client_for)
    steps = _predict(app, inst)
    assert [s.step for s in steps[:1]] == ["judge"] and steps[0].current
    assert steps[1].kind == "branch" and [b.condition for b in steps[1].branches] == [
        "若 是否具备核查条件 = 具备核查条件",
        "其他情况",
    ]

    judge(app, client_for, risk="high")
    steps = _predict(app, inst)
    assert [(s.step, s.current) for s in steps[:3]] == [("dispatch", True), ("handle", False), ("feedback", False)]
    assert steps[1].people == ["黄浦区·大队执法人员"]

    dispatch(app, client_for, org="310104")  # to 徐汇: the prediction names the unit that now acts
    steps = _predict(app, inst)
    assert steps[0].step == "handle" and steps[0].people == ["徐汇区·大队执法人员"]
    assert steps[1].step == "feedback" and steps[1].people == ["徐汇区·大队领导"]

    handle(app, client_for("xh_officer"))
    feedback_row = _open(app, "feedback")
    assert feedback_row
    steps = _predict(app, inst)
    assert [s.step for s in steps[:2]] == ["feedback", "review"]
    assert steps[-1].kind == "branch" and {b.condition for b in steps[-1].branches} == {"若 审批通过", "其他情况"}


def _open(app, step: str) -> int | None:
    with app.app_context():
        return db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open", HumanTask.step == step))


DATA_GATEWAY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_pr_data" targetNamespace="x">
<bpmn:process id="pr_data" name="按类别审批" isExecutable="true">
  <bpmn:laneSet id="ls">
    <bpmn:lane id="l_off" name="district_officer"><bpmn:flowNodeRef>fill</bpmn:flowNodeRef></bpmn:lane>
    <bpmn:lane id="l_lead" name="district_leader"><bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane>
    <bpmn:lane id="l_city" name="city_leader"><bpmn:flowNodeRef>recheck</bpmn:flowNodeRef></bpmn:lane>
  </bpmn:laneSet>
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill" />
  <bpmn:userTask id="fill" name="填写申请">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="demo_fill.schema.json" />
      <spiffworkflow:property name="assignee" value="initiator" />
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="review" />
  <bpmn:userTask id="review" name="大队审核">
    <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
  <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="gw" />
  <bpmn:exclusiveGateway id="gw" name="类别？" default="f_b"><bpmn:incoming>f3</bpmn:incoming>
    <bpmn:outgoing>f_a</bpmn:outgoing><bpmn:outgoing>f_b</bpmn:outgoing></bpmn:exclusiveGateway>
  <bpmn:sequenceFlow id="f_a" sourceRef="gw" targetRef="recheck">
    <bpmn:conditionExpression>category == "a" and amount &gt;= 10000</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f_b" sourceRef="gw" targetRef="end_b" />
  <bpmn:userTask id="recheck" name="甲类复核">
    <bpmn:incoming>f_a</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
  <bpmn:sequenceFlow id="f4" sourceRef="recheck" targetRef="end_a" />
  <bpmn:endEvent id="end_a" name="复核办结"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
  <bpmn:endEvent id="end_b" name="直接办结"><bpmn:incoming>f_b</bpmn:incoming></bpmn:endEvent>
</bpmn:process>
</bpmn:definitions>
"""


def test_gateway_on_data_is_shown_in_words_until_entered_then_followed(app, login_as):
    form = (DATA / "forms" / "demo_fill.schema.json").read_text(encoding="utf-8")
    with app.app_context():
        deploy.deploy(deploy.Sources("pr_data.bpmn", DATA_GATEWAY, {}, {"demo_fill.schema.json": form}, {}))
        actor = user("hp_officer")
        inst = actions.start("pr_data", actor=actor, data={}).id
        db.session.commit()
    steps = _predict(app, inst)
    assert [s.step for s in steps] == ["fill", "review", "gw"]
    a, b = steps[2].branches
    assert a.condition == "若 类别 = 甲类 且 金额 ≥ 10000"  # the form's titles and option titles
    assert [s.step for s in a.steps] == ["recheck", "end_a"]
    assert a.steps[0].people == ["上海市应急管理局执法总队·总队领导"]
    assert b.condition == "其他情况" and [s.step for s in b.steps] == ["end_b"]
    page = page_text(login_as("hp_officer").get(f"/inbox/instances/{inst}"))
    assert "若 类别 = 甲类 且 金额 ≥ 10000" in page

    with app.app_context():
        row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == inst, HumanTask.status == "open"))
        actions.complete(
            row, user("hp_officer"), action="complete", form_data={"subject": "仓库", "amount": 20000, "category": "a"}
        )
        db.session.commit()
    # The category is entered now: the walk takes the branch, no question left.
    steps = _predict(app, inst)
    assert [(s.step, s.kind) for s in steps] == [("review", "task"), ("recheck", "task"), ("end_a", "end")]


def test_designer_process_prediction_lists_cc_and_follows_a_condition_on_known_data(app):
    from tests.test_designer_compile import approval, deploy_tree, make_tree, rules, start, task

    tree = make_tree(
        "pr_cc",
        [
            approval("a_lead", "leader", "领导审批", rejectPolicy="end"),
            {"id": "cc_1", "type": "cc", "name": "抄送领导", "users": ["leader", "xh_leader"], "note": "请知悉"},
            {
                "id": "cond",
                "type": "condition",
                "name": "按金额",
                "branches": [
                    {
                        "id": "big",
                        "name": "大额",
                        "condition": rules(("amount", ">", 10000)),
                        "nodes": [task("t_big", "users:leader", "大额复核")],
                    },
                    {"id": "other", "name": "其他", "condition": None, "nodes": [task("t_small", "initiator", "归档")]},
                ],
            },
        ],
    )
    with app.app_context():
        deploy_tree(tree)
        inst = start("pr_cc", amount=100)
    steps = _predict(app, inst)
    assert steps[0].step == "a_lead" and steps[0].current and steps[0].people == ["黄浦大队长"]
    gate = steps[1]
    assert gate.kind == "branch"
    by_condition = {b.condition: b.steps for b in gate.branches}
    assert [s.kind for s in by_condition["若 审批不通过"]] == ["end"]
    approved = by_condition["其他情况"]
    cc = approved[0]
    assert cc.kind == "cc" and cc.name == "抄送：抄送领导" and cc.people == ["周建国", "徐汇大队长"]
    # The amount was entered at the start (100): the condition is followed, not asked.
    assert [s.step for s in approved[1:]] == ["t_small", approved[-1].step] and approved[-1].kind == "end"
