"""Build small executable BPMN processes for tests: a fill step, then approval nodes with given settings."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_{pid}"
  targetNamespace="http://bpmn.io/schema/bpmn">
<bpmn:process id="{pid}" name="{name}" isExecutable="true">
<bpmn:extensionElements><spiffworkflow:properties>
  <spiffworkflow:property name="numberRule" value="T{{yyyy}}{{seq:5}}" />
  <spiffworkflow:property name="titleRule" value="{{subject}}" />
</spiffworkflow:properties></bpmn:extensionElements>
"""

FORM = """{"type": "object", "required": ["subject"], "properties": {
  "subject": {"type": "string", "title": "事项"},
  "secret": {"type": "string", "title": "内部备注"},
  "amount": {"type": "integer", "title": "金额"}}}"""


def _props(props: dict) -> str:
    inner = "".join(f'<spiffworkflow:property name="{k}" value={quoteattr(str(v))} />' for k, v in props.items())
    return (
        f"<bpmn:extensionElements><spiffworkflow:properties>{inner}</spiffworkflow:properties></bpmn:extensionElements>"
    )


def _user_task(tid: str, name: str, props: dict, incoming: str, outgoing: str) -> str:
    return (
        f'<bpmn:userTask id="{tid}" name="{name}">{_props(props)}'
        f"<bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing></bpmn:userTask>\n"
    )


def linear(pid: str, nodes: list[tuple[str, str, dict]], *, name: str = "测试流程") -> str:
    """start -> fill (initiator) -> nodes... -> gateway on `approved` -> archive (initiator) | end_rejected.

    Each node: (id, name, properties). A rejection (approved False) ends the process at end_rejected.
    """
    parts = [HEAD.format(pid=pid, name=name)]
    parts.append('<bpmn:startEvent id="start"><bpmn:outgoing>f_start</bpmn:outgoing></bpmn:startEvent>\n')
    parts.append('<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="fill" />\n')
    fill_props = {"formJsonSchemaFilename": "t_fill.schema.json", "assignee": "initiator"}
    previous = "fill"
    parts.append(_user_task("fill", "填写", fill_props, "f_start", f"f_{previous}"))
    for tid, tname, props in nodes:
        parts.append(f'<bpmn:sequenceFlow id="f_{previous}" sourceRef="{previous}" targetRef="{tid}" />\n')
        props = {"kind": "approval", "formJsonSchemaFilename": "t_fill.schema.json", **props}
        parts.append(_user_task(tid, tname, props, f"f_{previous}", f"f_{tid}"))
        previous = tid
    parts.append(f'<bpmn:sequenceFlow id="f_{previous}" sourceRef="{previous}" targetRef="gw" />\n')
    parts.append(
        '<bpmn:exclusiveGateway id="gw" default="f_no"><bpmn:incoming>f_'
        + previous
        + "</bpmn:incoming><bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing>"
        "</bpmn:exclusiveGateway>\n"
    )
    parts.append(
        '<bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="archive">'
        "<bpmn:conditionExpression>approved == True</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
    )
    parts.append('<bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="end_rejected" />\n')
    parts.append(_user_task("archive", "归档", {"assignee": "initiator"}, "f_yes", "f_end"))
    parts.append('<bpmn:sequenceFlow id="f_end" sourceRef="archive" targetRef="end" />\n')
    parts.append('<bpmn:endEvent id="end"><bpmn:incoming>f_end</bpmn:incoming></bpmn:endEvent>\n')
    parts.append('<bpmn:endEvent id="end_rejected"><bpmn:incoming>f_no</bpmn:incoming></bpmn:endEvent>\n')
    parts.append("</bpmn:process></bpmn:definitions>\n")
    return "".join(parts)


def parallel(pid: str, branches: list[tuple[str, str, dict]]) -> str:
    """start -> fill -> parallel split -> one approval node per branch -> join -> archive -> end."""
    parts = [HEAD.format(pid=pid, name="并行测试")]
    parts.append('<bpmn:startEvent id="start"><bpmn:outgoing>f_start</bpmn:outgoing></bpmn:startEvent>\n')
    parts.append('<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="fill" />\n')
    parts.append(
        _user_task(
            "fill",
            "填写",
            {"formJsonSchemaFilename": "t_fill.schema.json", "assignee": "initiator"},
            "f_start",
            "f_fill",
        )
    )
    parts.append('<bpmn:sequenceFlow id="f_fill" sourceRef="fill" targetRef="split" />\n')
    outs = "".join(f"<bpmn:outgoing>f_s_{b}</bpmn:outgoing>" for b, _, _ in branches)
    ins = "".join(f"<bpmn:incoming>f_j_{b}</bpmn:incoming>" for b, _, _ in branches)
    parts.append(
        f'<bpmn:parallelGateway id="split"><bpmn:incoming>f_fill</bpmn:incoming>{outs}</bpmn:parallelGateway>\n'
    )
    for b, bname, props in branches:
        parts.append(f'<bpmn:sequenceFlow id="f_s_{b}" sourceRef="split" targetRef="{b}" />\n')
        parts.append(_user_task(b, bname, {"kind": "approval", **props}, f"f_s_{b}", f"f_j_{b}"))
        parts.append(f'<bpmn:sequenceFlow id="f_j_{b}" sourceRef="{b}" targetRef="join" />\n')
    parts.append(f'<bpmn:parallelGateway id="join">{ins}<bpmn:outgoing>f_join</bpmn:outgoing></bpmn:parallelGateway>\n')
    parts.append('<bpmn:sequenceFlow id="f_join" sourceRef="join" targetRef="archive" />\n')
    parts.append(_user_task("archive", "归档", {"assignee": "initiator"}, "f_join", "f_end"))
    parts.append('<bpmn:sequenceFlow id="f_end" sourceRef="archive" targetRef="end" />\n')
    parts.append('<bpmn:endEvent id="end"><bpmn:incoming>f_end</bpmn:incoming></bpmn:endEvent>\n')
    parts.append("</bpmn:process></bpmn:definitions>\n")
    return "".join(parts)


def deploy_xml(pid: str, xml: str):
    """Deploy a built process (inside an app context) and commit."""
    from app.engine import deploy
    from app.extensions import db

    version = deploy.deploy(
        deploy.Sources(bpmn_filename=f"{pid}.bpmn", bpmn=xml, dmn={}, forms={"t_fill.schema.json": FORM}, extra_bpmn={})
    )
    db.session.commit()
    return version
