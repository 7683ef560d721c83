"""The benchmark's 5-task process: a clue-verification shaped flow with lanes, forms and a timer.

The app ships no clue process yet (workflows/ is empty), so the benchmarks deploy this one. It has
what makes a real process cost something: lanes resolved to role rows in the inbox, two JSON-schema
forms, an approval gateway, a boundary timer (so every save computes `next_timer_at`) and a
numbering and title rule.

    登记 (initiator) -> 大队审核 (district_leader) -> 总队研判 (section_chief)
        -> 核查处置 (district_officer, 10-day timer) -> 办结审核 (district_leader) -> end
"""

from __future__ import annotations

import json

PROCESS_ID = "bench_clue"
PROCESS_NAME = "线索核查（基准测试）"

REGISTER_FORM = {
    "title": "线索登记",
    "type": "object",
    "required": ["enterprise_name", "credit_code", "source", "description"],
    "properties": {
        "enterprise_name": {"type": "string", "title": "涉及企业", "minLength": 2, "maxLength": 200},
        "credit_code": {"type": "string", "title": "统一社会信用代码", "minLength": 18, "maxLength": 18},
        "source": {
            "type": "string",
            "title": "线索来源",
            "oneOf": [
                {"const": "hotline", "title": "12345热线"},
                {"const": "report", "title": "群众举报"},
                {"const": "transfer", "title": "部门移送"},
                {"const": "inspection", "title": "检查发现"},
            ],
        },
        "description": {"type": "string", "title": "线索内容", "minLength": 5, "maxLength": 2000},
    },
}
HANDLE_FORM = {
    "title": "核查处置",
    "type": "object",
    "required": ["finding", "hazards"],
    "properties": {
        "finding": {"type": "string", "title": "核查情况", "minLength": 2, "maxLength": 2000},
        "hazards": {"type": "integer", "title": "发现隐患数", "minimum": 0},
        "penalty": {"type": "boolean", "title": "立案处罚"},
    },
}
FORMS = {
    "bench_register.schema.json": json.dumps(REGISTER_FORM, ensure_ascii=False),
    "bench_handle.schema.json": json.dumps(HANDLE_FORM, ensure_ascii=False),
}

# (task id, name, lane, kind, form) in the order an instance runs them.
STEPS = [
    ("register", "线索登记", None, "task", "bench_register.schema.json"),
    ("review", "大队审核", "district_leader", "approval", None),
    ("judge", "总队研判", "section_chief", "approval", None),
    ("handle", "核查处置", "district_officer", "task", "bench_handle.schema.json"),
    ("close", "办结审核", "district_leader", "approval", None),
]
# What the acting user posts per step (the act route's form fields).
POSTS = {
    "register": {
        "action": "complete",
        "enterprise_name": "上海华申化工有限公司",
        "credit_code": "91310101MA1FPX1234",
        "source": "hotline",
        "description": "群众反映该企业仓库夜间违规存放危险化学品",
    },
    "review": {"action": "approve", "comment": "同意，请总队研判"},
    "judge": {"action": "approve", "comment": "属实可能性大，派区大队核查"},
    "handle": {"action": "complete", "finding": "现场检查发现违规存放，已责令整改", "hazards": "3"},
    "close": {"action": "approve", "comment": "同意办结"},
}
# The same as typed data for the service-level benchmark (what check_form returns).
FORM_DATA = {
    "register": {k: v for k, v in POSTS["register"].items() if k != "action"},
    "handle": {"finding": POSTS["handle"]["finding"], "hazards": 3, "penalty": False},
}


# Process-level settings (app/engine/deploy.py MODEL_PROPERTIES): numbering, title, list columns.
MODEL_PROPERTIES = {
    "category": "线索核查",
    "numberRule": "XS{yyyy}{MM}{dd}{seq:5}",
    "titleRule": "{enterprise_name}线索核查",
    "summaryFields": "enterprise_name,credit_code,source",
}


def _props(props: dict) -> str:
    inner = "".join(f'<spiffworkflow:property name="{k}" value="{v}" />' for k, v in props.items())
    return (
        f"<bpmn:extensionElements><spiffworkflow:properties>{inner}</spiffworkflow:properties></bpmn:extensionElements>"
    )


def bpmn() -> str:
    """The BPMN text of the benchmark process."""
    lanes: dict[str, list[str]] = {}
    for tid, _name, lane, _kind, _form in STEPS:
        lanes.setdefault(lane or "district_officer", []).append(tid)
    lanes["district_officer"] += ["start", "handle_timeout", "escalate", "end_escalated"]
    lanes["district_leader"] += ["gw_review", "end", "end_rejected"]
    lane_xml = "".join(
        f'<bpmn:lane id="Lane_{code}" name="{code}">'
        + "".join(f"<bpmn:flowNodeRef>{ref}</bpmn:flowNodeRef>" for ref in refs)
        + "</bpmn:lane>"
        for code, refs in lanes.items()
    )
    tasks = []
    for tid, name, _lane, kind, form in STEPS:
        props = {"kind": kind}
        if form:
            props["formJsonSchemaFilename"] = form
        if tid == "register":
            props["assignee"] = "initiator"
        if tid in ("review", "close"):
            props["dueWorkingDays"] = "3"
        tasks.append((tid, name, props))
    flows = {
        "register": ("f_start", "f_register"),
        "review": ("f_register", "f_review"),
        "judge": ("f_ok", "f_judge"),
        "handle": ("f_judge", "f_handle"),
        "close": ("f_handle", "f_close"),
    }
    task_xml = "".join(
        f'<bpmn:userTask id="{tid}" name="{name}">{_props(props)}'
        f"<bpmn:incoming>{flows[tid][0]}</bpmn:incoming><bpmn:outgoing>{flows[tid][1]}</bpmn:outgoing></bpmn:userTask>"
        for tid, name, props in tasks
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_{PROCESS_ID}"
  targetNamespace="http://bpmn.io/schema/bpmn">
<bpmn:collaboration id="Collab_{PROCESS_ID}">
  <bpmn:participant id="Participant_{PROCESS_ID}" name="{PROCESS_NAME}" processRef="{PROCESS_ID}" />
</bpmn:collaboration>
<bpmn:process id="{PROCESS_ID}" name="{PROCESS_NAME}" isExecutable="true">
{_props(MODEL_PROPERTIES)}
<bpmn:laneSet id="LaneSet_{PROCESS_ID}">{lane_xml}</bpmn:laneSet>
<bpmn:startEvent id="start" name="开始"><bpmn:outgoing>f_start</bpmn:outgoing></bpmn:startEvent>
<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="register" />
{task_xml}
<bpmn:sequenceFlow id="f_register" sourceRef="register" targetRef="review" />
<bpmn:sequenceFlow id="f_review" sourceRef="review" targetRef="gw_review" />
<bpmn:exclusiveGateway id="gw_review" name="审核通过？" default="f_no">
  <bpmn:incoming>f_review</bpmn:incoming><bpmn:outgoing>f_ok</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing>
</bpmn:exclusiveGateway>
<bpmn:sequenceFlow id="f_ok" name="通过" sourceRef="gw_review" targetRef="judge">
  <bpmn:conditionExpression>approved == True</bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f_no" name="不通过" sourceRef="gw_review" targetRef="end_rejected" />
<bpmn:sequenceFlow id="f_judge" sourceRef="judge" targetRef="handle" />
<bpmn:boundaryEvent id="handle_timeout" name="核查超期" attachedToRef="handle" cancelActivity="false">
  <bpmn:outgoing>f_timeout</bpmn:outgoing>
  <bpmn:timerEventDefinition id="timer_handle"><bpmn:timeDuration>"P10D"</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:sequenceFlow id="f_timeout" sourceRef="handle_timeout" targetRef="escalate" />
<bpmn:scriptTask id="escalate" name="超期预警">
  <bpmn:incoming>f_timeout</bpmn:incoming><bpmn:outgoing>f_escalated</bpmn:outgoing>
  <bpmn:script>overdue_warning = True</bpmn:script>
</bpmn:scriptTask>
<bpmn:sequenceFlow id="f_escalated" sourceRef="escalate" targetRef="end_escalated" />
<bpmn:endEvent id="end_escalated" name="预警已发出"><bpmn:incoming>f_escalated</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f_handle" sourceRef="handle" targetRef="close" />
<bpmn:sequenceFlow id="f_close" sourceRef="close" targetRef="end" />
<bpmn:endEvent id="end" name="办结"><bpmn:incoming>f_close</bpmn:incoming></bpmn:endEvent>
<bpmn:endEvent id="end_rejected" name="不予核查"><bpmn:incoming>f_no</bpmn:incoming></bpmn:endEvent>
</bpmn:process>
</bpmn:definitions>
"""


def deploy():
    """Deploy (or find unchanged) the benchmark process inside an app context; the caller commits."""
    from app.engine import deploy as engine_deploy

    src = engine_deploy.Sources(
        bpmn_filename=f"{PROCESS_ID}.bpmn", bpmn=bpmn(), dmn={}, forms=dict(FORMS), extra_bpmn={}
    )
    return engine_deploy.deploy(src)
