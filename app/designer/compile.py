"""Compile a designer tree to standard, executable BPMN 2.0 with spiffworkflow extensions and BPMNDI.

| node                  | BPMN                                                                         |
|-----------------------|------------------------------------------------------------------------------|
| start                 | startEvent; ``startRoles`` / ``startForm`` process properties                |
| approval / task       | userTask with ``spiffworkflow:properties`` (``kind`` approval / task + props) |
|   rejectPolicy "end"  | + exclusiveGateway: ``approved == False`` → terminate endEvent "已拒绝",     |
|                       |   default flow → the next step                                               |
| cc                    | serviceTask, operator ``inbox.cc`` (users, note)                             |
| condition / inclusive | exclusive / inclusive gateway split + join; one flow per branch with a       |
|                       | Python ``conditionExpression``; the "其他情况" branch is the default flow     |
| parallel              | parallel gateway split + join                                                |
| delay                 | intermediateCatchEvent + timerEventDefinition: ``"PT2H"`` / ``working_deadline(n)`` |
| trigger (http)        | serviceTask, operator ``http.call`` (url, method, fields, timeout, onError)  |
| trigger (update)      | scriptTask ``field = <literal>`` lines                                       |
| subprocess            | callActivity ``calledElement``                                               |

Element ids are the tree's ids (branch id = the id of the branch's first sequence flow); derived
elements get ``<node id>__join`` / ``__gw`` / ``__rejected`` so the parser can ignore them and
problems can be pinned back on the node (``Compiled.owners``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from app.designer import layout
from app.designer.tree import condition_expression, normalize, py_literal

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NSMAP = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "xsi": XSI, "spiffworkflow": SPIFF}
EXPORTER = "Ducha 简易设计器"
REJECTED_CONDITION = "approved == False"
GATEWAYS = {"condition": "exclusiveGateway", "inclusive": "inclusiveGateway", "parallel": "parallelGateway"}
DURATIONS = {"minutes": "PT{}M", "hours": "PT{}H", "days": "P{}D"}


class Ids:
    """Ids of the elements a node compiles to besides its own."""

    @staticmethod
    def join(node: dict) -> str:
        return f"{node['id']}__join"

    @staticmethod
    def reject_gateway(node: dict) -> str:
        return f"{node['id']}__gw"

    @staticmethod
    def reject_end(node: dict) -> str:
        return f"{node['id']}__rejected"

    @staticmethod
    def reject_flow(node: dict) -> str:
        return f"{node['id']}__reject"

    @staticmethod
    def flow(source: str, target: str) -> str:
        return f"Flow_{source}__{target}"


def _b(tag: str) -> str:
    return f"{{{BPMN}}}{tag}"


def _s(tag: str) -> str:
    return f"{{{SPIFF}}}{tag}"


@dataclass
class _Node:
    tag: str
    id: str
    name: str | None
    kind: str  # event / gateway / activity (for the diagram)
    owner: str
    role: str = ""  # split / join for branch gateways (edges leave and enter them vertically)
    attrs: dict[str, str] = field(default_factory=dict)
    ext: list[etree._Element] = field(default_factory=list)
    body: list[etree._Element] = field(default_factory=list)


@dataclass
class _Flow:
    id: str
    source: str
    target: str
    owner: str
    name: str | None = None
    condition: str | None = None


@dataclass
class _Entry:
    """The first flow of a branch, waiting for its target."""

    id: str
    name: str
    condition: str | None


@dataclass
class Compiled:
    xml: str
    tree: dict
    owners: dict[str, str]  # BPMN element id -> tree node / branch id


def _properties(props: dict[str, str]) -> etree._Element:
    box = etree.Element(_s("properties"))
    for name, value in props.items():
        etree.SubElement(box, _s("property"), name=name, value=value)
    return box


def _expression(tag: str, text: str) -> etree._Element:
    el = etree.Element(_b(tag))
    el.set(f"{{{XSI}}}type", "bpmn:tFormalExpression")
    el.text = text
    return el


def _operator(operation: str, params: list[tuple[str, str, str]], result: str | None = None) -> etree._Element:
    op = etree.Element(_s("serviceTaskOperator"), id=operation)
    if result:
        op.set("resultVariable", result)
    box = etree.SubElement(op, _s("parameters"))
    for pid, ptype, value in params:
        etree.SubElement(box, _s("parameter"), id=pid, type=ptype, value=value)
    return op


class _Builder:
    def __init__(self, tree: dict) -> None:
        self.tree = tree
        self.nodes: list[_Node] = []
        self.flows: list[_Flow] = []
        self.defaults: dict[str, str] = {}  # gateway id -> default flow id
        self.pending_default: set[str] = set()  # rejection gateways: their next flow is the default

    def add(self, node: _Node) -> str:
        self.nodes.append(node)
        return node.id

    def connect(self, source: str, target: str, owner: str, entry: _Entry | None = None) -> None:
        if entry is not None:
            flow = _Flow(entry.id, source, target, entry.id, entry.name, entry.condition)
        else:
            flow = _Flow(Ids.flow(source, target), source, target, owner)
        if source in self.pending_default:
            self.pending_default.discard(source)
            self.defaults[source] = flow.id
            flow.name = flow.name or "通过"
        self.flows.append(flow)

    # -- sequences ----------------------------------------------------------------------------
    def seq(self, nodes: list[dict], source: str, entry: _Entry | None = None) -> tuple[str, _Entry | None]:
        """Compile a node list after ``source``; return the last element and an unused entry flow."""
        previous = source
        for node in nodes:
            first, last = self.node(node)
            self.connect(previous, first, node["id"], entry)
            entry = None
            previous = last
        return previous, entry

    def node(self, node: dict) -> tuple[str, str]:
        kind = node["type"]
        if kind in GATEWAYS:
            return self.branches(node)
        return getattr(self, f"node_{kind}")(node)

    # -- node kinds ---------------------------------------------------------------------------
    def node_approval(self, node: dict) -> tuple[str, str]:
        props = {"kind": node["type"], **node["props"]}
        ends = props.get("rejectPolicy") == "end" and node["type"] == "approval"
        if ends:
            props.pop("rejectPolicy")
        ext = [_properties({k: v for k, v in props.items() if k != "instructions"})]
        if (props.get("instructions") or "").strip():  # 办理说明, shown above the task's form
            note = etree.Element(_s("instructionsForEndUser"))
            note.text = props["instructions"].strip()
            ext.append(note)
        task = _Node("userTask", node["id"], node["name"], "activity", node["id"], ext=ext)
        self.add(task)
        if not ends:
            return task.id, task.id
        gateway = self.add(_Node("exclusiveGateway", Ids.reject_gateway(node), None, "gateway", node["id"]))
        terminate = etree.Element(_b("terminateEventDefinition"), id=f"{node['id']}__terminate")
        end = self.add(_Node("endEvent", Ids.reject_end(node), "已拒绝", "event", node["id"], body=[terminate]))
        self.connect(task.id, gateway, node["id"])
        self.flows.append(_Flow(Ids.reject_flow(node), gateway, end, node["id"], None, REJECTED_CONDITION))
        self.pending_default.add(gateway)
        return task.id, gateway

    node_task = node_approval

    def node_cc(self, node: dict) -> tuple[str, str]:
        params = [("users", "any", py_literal(node["users"])), ("note", "str", py_literal(node["note"]))]
        el = _Node("serviceTask", node["id"], node["name"], "activity", node["id"], ext=[_operator("inbox.cc", params)])
        self.add(el)
        return el.id, el.id

    def node_trigger(self, node: dict) -> tuple[str, str]:
        if node["mode"] == "update":
            script = etree.Element(_b("script"))
            script.text = "\n".join(f"{a['field']} = {py_literal(a['value'])}" for a in node["assignments"])
            el = _Node("scriptTask", node["id"], node["name"], "activity", node["id"], body=[script])
            el.attrs["scriptFormat"] = "python"
        else:
            params = [
                ("url", "str", py_literal(node["url"])),
                ("method", "str", py_literal(node["method"])),
                ("fields", "any", py_literal(node["fields"])),
                ("timeout", "int", py_literal(node["timeout"])),
                ("onError", "str", py_literal(node["onError"])),
            ]
            operator = _operator("http.call", params, node["result"])
            el = _Node("serviceTask", node["id"], node["name"], "activity", node["id"], ext=[operator])
        self.add(el)
        return el.id, el.id

    def node_delay(self, node: dict) -> tuple[str, str]:
        timer = etree.Element(_b("timerEventDefinition"), id=f"{node['id']}__timer")
        if node["unit"] == "working_days":
            timer.append(_expression("timeDate", f"working_deadline({node['amount']})"))
        else:
            timer.append(_expression("timeDuration", py_literal(DURATIONS[node["unit"]].format(node["amount"]))))
        el = _Node("intermediateCatchEvent", node["id"], node["name"], "event", node["id"], body=[timer])
        self.add(el)
        return el.id, el.id

    def node_subprocess(self, node: dict) -> tuple[str, str]:
        el = _Node("callActivity", node["id"], node["name"], "activity", node["id"])
        el.attrs["calledElement"] = node["process"]
        self.add(el)
        return el.id, el.id

    def branches(self, node: dict) -> tuple[str, str]:
        tag = GATEWAYS[node["type"]]
        split = self.add(_Node(tag, node["id"], node["name"], "gateway", node["id"], role="split"))
        join = _Node(tag, Ids.join(node), None, "gateway", node["id"], role="join")
        exits: list[tuple[str, _Entry | None, str]] = []
        for branch in node["branches"]:
            condition = None if node["type"] == "parallel" else condition_expression(branch["condition"])
            if node["type"] != "parallel" and branch["condition"] is None:
                self.defaults[split] = branch["id"]
            entry = _Entry(branch["id"], branch["name"], condition)
            last, unused = self.seq(branch["nodes"], split, entry)
            exits.append((last, unused, branch["id"]))
        self.add(join)
        for last, unused, owner in exits:
            self.connect(last, join.id, owner, unused)
        return split, join.id

    # -- output -------------------------------------------------------------------------------
    def build(self) -> etree._Element:
        tree = self.tree
        process_meta = tree["process"]
        start = _Node("startEvent", tree["start"]["id"], tree["start"]["name"], "event", tree["start"]["id"])
        self.add(start)
        last, _ = self.seq(tree["nodes"], start.id)
        end = self.add(_Node("endEvent", tree["end"]["id"], tree["end"]["name"], "event", tree["end"]["id"]))
        self.connect(last, end, tree["end"]["id"])

        root = etree.Element(_b("definitions"), nsmap=NSMAP)
        root.set("id", f"Definitions_{process_meta['id']}")
        root.set("targetNamespace", "http://bpmn.io/schema/bpmn")
        root.set("exporter", EXPORTER)
        root.set("exporterVersion", "1")
        process = etree.SubElement(root, _b("process"), id=process_meta["id"], isExecutable="true")
        if process_meta["name"]:
            process.set("name", process_meta["name"])
        props = dict(process_meta["props"])
        if tree["start"]["roles"]:
            props["startRoles"] = ",".join(tree["start"]["roles"])
        if tree["start"]["form"]:
            props["startForm"] = tree["start"]["form"]
        if props:
            etree.SubElement(process, _b("extensionElements")).append(_properties(props))

        incoming: dict[str, list[str]] = {}
        outgoing: dict[str, list[str]] = {}
        for flow in self.flows:
            outgoing.setdefault(flow.source, []).append(flow.id)
            incoming.setdefault(flow.target, []).append(flow.id)
        for node in self.nodes:
            el = etree.SubElement(process, _b(node.tag), id=node.id)
            if node.name:
                el.set("name", node.name)
            for key, value in node.attrs.items():
                el.set(key, value)
            if node.id in self.defaults:
                el.set("default", self.defaults[node.id])
            if node.ext:
                ext = etree.SubElement(el, _b("extensionElements"))
                for child in node.ext:
                    ext.append(child)
            for fid in incoming.get(node.id, []):
                etree.SubElement(el, _b("incoming")).text = fid
            for fid in outgoing.get(node.id, []):
                etree.SubElement(el, _b("outgoing")).text = fid
            for child in node.body:
                el.append(child)
        for flow in self.flows:
            el = etree.SubElement(process, _b("sequenceFlow"), id=flow.id, sourceRef=flow.source, targetRef=flow.target)
            if flow.name:
                el.set("name", flow.name)
            if flow.condition is not None:
                el.append(_expression("conditionExpression", flow.condition))
        root.append(self.diagram(process_meta["id"]))
        return root

    def diagram(self, process_id: str) -> etree._Element:
        boxes, vias = layout.place(self.tree, Ids)
        kinds = {n.id: n for n in self.nodes}
        diagram = etree.Element(f"{{{BPMNDI}}}BPMNDiagram", id="BPMNDiagram_1")
        plane = etree.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", id="BPMNPlane_1", bpmnElement=process_id)
        for node in self.nodes:
            shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", id=f"{node.id}_di", bpmnElement=node.id)
            if node.tag == "exclusiveGateway":
                shape.set("isMarkerVisible", "true")
            x, y, w, h = boxes[node.id].bounds
            etree.SubElement(shape, f"{{{DC}}}Bounds", x=_n(x), y=_n(y), width=str(w), height=str(h))
        for flow in self.flows:
            edge = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{flow.id}_di", bpmnElement=flow.id)
            points = layout.waypoints(
                boxes[flow.source],
                boxes[flow.target],
                leave_vertically=kinds[flow.source].role == "split",
                enter_vertically=kinds[flow.target].role == "join",
                via_y=vias.get(flow.id),
            )
            for px, py in points:
                etree.SubElement(edge, f"{{{DI}}}waypoint", x=_n(px), y=_n(py))
        return diagram

    def owners(self) -> dict[str, str]:
        owners = {n.id: n.owner for n in self.nodes}
        owners.update({f.id: f.owner for f in self.flows})
        return owners


def _n(value: float) -> str:
    return str(round(value))


def compile_tree(tree: dict) -> Compiled:
    """The BPMN XML of a tree (normalized first). Always produces XML: problems are found by validation."""
    tree = normalize(tree)
    builder = _Builder(tree)
    root = builder.build()
    xml = etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode("utf-8")
    return Compiled(xml=xml, tree=tree, owners=builder.owners())


def to_bpmn(tree: dict) -> str:
    return compile_tree(tree).xml
