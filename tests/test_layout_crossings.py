"""The generated layout (app/processes/layout.py) draws no flow through a shape or a label, with lanes:
on the shipped processes, on the MIWG reference files stripped of their diagrams, and on a process with a
boundary timer and a loop. The checker itself (app/processes/di_check.py) sees a crossing when there is one."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from app.processes.di_check import crossings, strip_di
from app.processes.layout import DI_NS, ensure_layout

ROOT = Path(__file__).resolve().parents[1]
MIWG = ROOT.parent / "shared" / "interop" / "miwg-reference"
SHIPPED = sorted((ROOT / "workflows").glob("*.bpmn"))

LOOP_AND_TIMER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:collaboration id="c"><bpmn:participant id="pool" name="审批" processRef="p"/></bpmn:collaboration>
  <bpmn:process id="p" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="办理人"><bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>fill</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>e</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="审核人"><bpmn:flowNodeRef>check</bpmn:flowNodeRef><bpmn:flowNodeRef>gw</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>remind</bpmn:flowNodeRef><bpmn:flowNodeRef>late</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="s" name="开始"/>
    <bpmn:userTask id="fill" name="填写"/>
    <bpmn:userTask id="check" name="审核"/>
    <bpmn:boundaryEvent id="late" name="超时" attachedToRef="check">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT2H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:scriptTask id="remind" name="提醒"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" name="通过？" default="ok"/>
    <bpmn:endEvent id="e" name="结束"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fill"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="check"/>
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="gw"/>
    <bpmn:sequenceFlow id="ok" name="通过" sourceRef="gw" targetRef="e"/>
    <bpmn:sequenceFlow id="back" name="退回修改" sourceRef="gw" targetRef="fill">
      <bpmn:conditionExpression>approved == False</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="t1" sourceRef="late" targetRef="remind"/>
    <bpmn:sequenceFlow id="t2" sourceRef="remind" targetRef="check"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _laid_out(xml: bytes) -> str:
    text, note = ensure_layout(strip_di(xml).decode("utf-8"))
    assert note is not None, "no layout was generated"
    return text


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_processes_have_no_crossing(path):
    assert crossings(_laid_out(path.read_bytes())) == []


def test_miwg_files_without_their_diagrams_have_no_crossing():
    files = sorted(MIWG.glob("*.bpmn"))
    assert len(files) == 21
    found = {p.name: crossings(_laid_out(p.read_bytes())) for p in files}
    assert {name: c for name, c in found.items() if c} == {}


def test_boundary_timer_and_loop_with_lanes_and_labels():
    text = _laid_out(LOOP_AND_TIMER.encode())
    assert crossings(text) == []
    root = etree.fromstring(text.encode())
    labelled = {s.getparent().get("bpmnElement") for s in root.iter(f"{{{DI_NS}}}BPMNLabel")}
    assert {"gw", "late", "back", "ok", "s", "e"} <= labelled  # labels are placed, so they are checked too
    lanes = [s for s in root.iter(f"{{{DI_NS}}}BPMNShape") if s.get("bpmnElement") in ("l1", "l2")]
    assert len(lanes) == 2


def test_the_checker_sees_a_flow_through_a_shape_and_a_label():
    text = _laid_out(LOOP_AND_TIMER.encode())
    root = etree.fromstring(text.encode())
    check = root.find(f".//{{{DI_NS}}}BPMNShape[@bpmnElement='check']/*")
    fill = root.find(f".//{{{DI_NS}}}BPMNShape[@bpmnElement='fill']/*")
    edge = root.find(f".//{{{DI_NS}}}BPMNEdge[@bpmnElement='f1']")
    for w in list(edge):
        edge.remove(w)
    # a straight line from the start event through 填写 into 审核's middle
    y = float(check.get("y")) + 10
    for x in (float(fill.get("x")) - 30, float(check.get("x")) + 50):
        etree.SubElement(edge, "{http://www.omg.org/spec/DD/20100524/DI}waypoint", x=str(x), y=str(y))
    found = crossings(etree.tostring(root))
    assert any(c.startswith("f1 穿过 check") for c in found), found
    label = root.find(f".//{{{DI_NS}}}BPMNShape[@bpmnElement='gw']/{{{DI_NS}}}BPMNLabel/*")
    edge2 = root.find(f".//{{{DI_NS}}}BPMNEdge[@bpmnElement='t2']")
    for w in list(edge2):
        edge2.remove(w)
    lx, ly = float(label.get("x")), float(label.get("y")) + 5
    for x in (lx - 5, lx + 20):
        etree.SubElement(edge2, "{http://www.omg.org/spec/DD/20100524/DI}waypoint", x=str(x), y=str(ly))
    assert "t2 穿过 gw 的标签" in crossings(etree.tostring(root))
