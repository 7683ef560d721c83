"""Diagram interchange (BPMNDI): say what a file lacks, and lay out a file that has no diagram at all.

bpmn-js draws only what BPMNDI describes. Files from tools that write no layout would show an empty
canvas, so an upload without any diagram gets a simple generated one: flow nodes in columns by
their distance from the start, one band per lane, sequence flows as elbow lines. The generated
diagram carries a known id, so the editor can say that the layout was made by the server.
"""

from __future__ import annotations

from collections import defaultdict

from lxml import etree

from app.engine import qnames

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DDI_NS = "http://www.omg.org/spec/DD/20100524/DI"
AUTO_ID = "BPMNDiagram_ducha_autolayout"
AUTO_NOTE = "原文件没有图形布局（BPMNDI），图形由服务器按连线自动排布，请检查后保存"

# fmt: off
_NODES = {
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
}
# fmt: on
_SIZES = {"event": (36, 36), "gateway": (50, 50), "activity": (100, 80)}
COL, ROW, LEFT, POOL_HEADER = 170, 120, 60, 30


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _size(tag: str) -> tuple[int, int]:
    if tag.endswith("Event"):
        return _SIZES["event"]
    if tag.endswith("Gateway"):
        return _SIZES["gateway"]
    return _SIZES["activity"]


def _parse(text: str, resolve: bool = True) -> etree._Element | None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=False)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if resolve:
        qnames.resolve_refs(root)  # references such as bpmnElement="bpmn2:_x" name the element "_x"
    return root


def _drawn(root: etree._Element) -> set[str]:
    return {
        el.get("bpmnElement")
        for el in root.iter(f"{{{DI_NS}}}BPMNShape", f"{{{DI_NS}}}BPMNEdge")
        if el.get("bpmnElement")
    }


def di_report(text: str) -> str | None:
    """A Chinese note on the diagram information of a BPMN text, or None when everything is drawn."""
    root = _parse(text)
    if root is None:
        return None
    if root.find(f"{{{DI_NS}}}BPMNDiagram[@id='{AUTO_ID}']") is not None:
        return AUTO_NOTE
    drawn = _drawn(root)
    if not drawn:
        return "此文件没有图形布局信息（BPMNDI），流程图无法显示；可以校验和部署，或重新上传以自动排布"
    missing = [
        el.get("id")
        for process in root.iter(f"{{{BPMN_NS}}}process")
        for el in process.iter()
        if _local(el) in _NODES | {"boundaryEvent", "sequenceFlow"} and el.get("id") and el.get("id") not in drawn
    ]
    notes = []
    if missing:
        shown = "、".join(missing[:5]) + ("等" if len(missing) > 5 else "")
        notes.append(f"有 {len(missing)} 个元素没有图形信息（BPMNDI），在图中不可见：{shown}")
    dangling = sorted(drawn - _ids(root))
    if dangling:
        shown = "、".join(dangling[:5]) + ("等" if len(dangling) > 5 else "")
        notes.append(
            f"有 {len(dangling)} 个图形引用的元素不存在（bpmnElement），已忽略：{shown}；请删除这些图形或改正引用"
        )
    return "；".join(notes) or None


def _ids(root: etree._Element) -> set[str]:
    return {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}


def lost_shapes(old: str, new: str) -> list[str]:
    """Elements drawn in ``old`` that are still in ``new`` but no longer drawn there (a lossy re-export)."""
    before, after = _parse(old), _parse(new)
    if before is None or after is None:
        return []
    gone = _drawn(before) & _ids(after) - _drawn(after)
    return sorted(i for i in gone if i)


def editor_note(text: str) -> str | None:
    """What the editor says about a file's layout (it shows files without any diagram laid out)."""
    root = _parse(text)
    if root is not None and not _drawn(root):
        return "此流程图没有图形布局（BPMNDI），编辑器中显示的是服务器自动排布的布局；保存草稿后布局随文件一起保存"
    return di_report(text)


def ensure_layout(text: str) -> tuple[str, str | None]:
    """The text unchanged when it has a diagram; otherwise with a generated one, and a note saying so."""
    root = _parse(text)
    if root is None or _drawn(root):
        return text, None
    return _laid_out(root, text)


def for_display(text: str) -> str:
    """The text bpmn-js is given: prefixed references resolved, a generated layout when there is none.

    The stored file is never changed by this; only what the editor and the viewers draw.
    """
    root = _parse(text, resolve=False)
    if root is None:
        return text
    resolved = qnames.resolve_refs(root)
    if not _drawn(root) & _ids(root):  # no diagram, or one that draws nothing of this file: lay it out
        for diagram in root.findall(f"{{{DI_NS}}}BPMNDiagram"):
            root.remove(diagram)
        return _laid_out(root, text)[0]
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8") if resolved else text


def _laid_out(root: etree._Element, text: str) -> tuple[str, str | None]:
    try:
        _layout(root)
    except Exception:  # a layout failure must never refuse an upload: show the note without a diagram
        return text, di_report(text)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")
    return xml, AUTO_NOTE


def _columns(process: etree._Element, nodes: dict[str, etree._Element]) -> dict[str, int]:
    """Column of each node: the longest path from a node without incoming flows, back edges ignored."""
    succ: dict[str, list[str]] = defaultdict(list)
    has_in: set[str] = set()
    edges = [(f.get("sourceRef"), f.get("targetRef")) for f in process.findall(f"{{{BPMN_NS}}}sequenceFlow")]
    edges += [(b.get("attachedToRef"), b.get("id")) for b in process.findall(f"{{{BPMN_NS}}}boundaryEvent")]
    for src, dst in edges:
        if src in nodes and dst in nodes:
            succ[src].append(dst)
            has_in.add(dst)
    starts = [n for n in nodes if n not in has_in] or list(nodes)[:1]
    col = dict.fromkeys(nodes, 0)
    order: list[str] = []
    state: dict[str, int] = {}
    back: set[tuple[str, str]] = set()

    def visit(node: str) -> None:  # iterative DFS: post-order, marking back edges
        stack = [(node, iter(succ[node]))]
        state[node] = 1
        while stack:
            current, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[current] = 2
                order.append(current)
                stack.pop()
            elif state.get(child) == 1:
                back.add((current, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(succ[child])))

    for start in starts + list(nodes):
        if start not in state:
            visit(start)
    for node in reversed(order):
        for child in succ[node]:
            if (node, child) not in back:
                col[child] = max(col[child], col[node] + 1)
    return col


def _lanes(process: etree._Element) -> list[tuple[etree._Element, set[str]]]:
    leaves = [lane for lane in process.iter(f"{{{BPMN_NS}}}lane") if lane.find(f"{{{BPMN_NS}}}childLaneSet") is None]
    return [(lane, {(r.text or "").strip() for r in lane.findall(f"{{{BPMN_NS}}}flowNodeRef")}) for lane in leaves]


class Cell(tuple):
    """The grid cell of a node: left x of its column, top y of its row, its (lane, slot) row key, column."""

    __slots__ = ()

    def __new__(cls, left: float, top: float, row: tuple[int, int], column: int):
        return super().__new__(cls, (left, top, row, column))

    left = property(lambda self: self[0])
    top = property(lambda self: self[1])
    row = property(lambda self: self[2])
    column = property(lambda self: self[3])


def _is_activity(tag: str) -> bool:
    return not (tag.endswith("Event") or tag.endswith("Gateway"))


def _text_box(text: str, per_line: int) -> tuple[float, float]:
    lines = max(1, -(-len(text) // per_line))
    return min(len(text), per_line) * 12 + 4, lines * 14


def _below(box: tuple, text: str) -> tuple:
    """The label of an event or gateway, under the shape (inside the row, above the corridor)."""
    w, _h = _text_box(text, 7)
    return (box[0] + box[2] / 2 - w / 2, box[1] + box[3] + 3, w, 14)  # one line: the corridor label goes below


def _label(plane, element_id: str, bounds: tuple) -> None:
    shape = plane.find(f"{{{DI_NS}}}BPMNShape[@bpmnElement='{element_id}']")
    if shape is not None:
        lab = etree.SubElement(shape, f"{{{DI_NS}}}BPMNLabel")
        _add_bounds(lab, *bounds)


def _route(src_id, dst_id, boxes, cells, boundary, name) -> tuple[list[tuple], tuple | None]:
    """Orthogonal route that crosses no shape: flows leave their source inside its own grid cell, run along
    row boundaries (no shape lies on one), come down or up just right of the target column's left edge
    (no shape reaches into that margin) and enter the target from the left. Labels sit beside the first
    segment, inside the source's cell."""
    src, dst = boxes[src_id], boxes[dst_id]
    s_cell, d_cell = cells[src_id], cells[dst_id]
    scx, scy = src[0] + src[2] / 2, src[1] + src[3] / 2
    tx, ty = dst[0], dst[1] + dst[3] / 2
    x_in = d_cell.left + 12
    between = [
        c
        for n, c in cells.items()
        if n not in boundary and c.row == s_cell.row and s_cell.column < c.column < d_cell.column
    ]
    if src_id not in boundary and s_cell.row == d_cell.row and d_cell.column > s_cell.column and not between:
        sx = src[0] + src[2]
        points = [(sx, scy), (tx, ty)]
        label = None
        if name:
            w, h = _text_box(name, 3)
            label = (sx + 3, scy - h - 2, min(w, x_in - sx - 6), h)
        return points, label
    up = d_cell.top < s_cell.top and src_id not in boundary
    exit_y = src[1] if up else src[1] + src[3]
    corridor = s_cell.top if up else s_cell.top + ROW
    points = [(scx, exit_y), (scx, corridor), (x_in, corridor), (x_in, ty), (tx, ty)]
    label = None
    if name:  # beside the first segment, against the corridor: clear of the source's own label
        w, _h = _text_box(name, 6)
        label = (scx + 4, (corridor + 1) if up else (corridor - 15), min(w, COL / 2 - 8), 14)
    return points, label


def _add_bounds(parent, x: float, y: float, w: float, h: float) -> None:
    etree.SubElement(parent, f"{{{DC_NS}}}Bounds", x=str(int(x)), y=str(int(y)), width=str(int(w)), height=str(int(h)))


def _layout_process(
    plane, process, participant, top: float, all_cells: dict | None = None
) -> tuple[dict[str, tuple], float]:
    nodes = {el.get("id"): el for el in process if _local(el) in _NODES and el.get("id")}
    boundary = {el.get("id"): el for el in process.findall(f"{{{BPMN_NS}}}boundaryEvent") if el.get("id")}
    col = _columns(process, {**nodes, **boundary})
    for event_id in boundary:
        col.pop(event_id, None)
    lanes = _lanes(process) or [(None, set(nodes))]
    lane_of = {}
    for i, (_lane, refs) in enumerate(lanes):
        for ref in refs:
            lane_of.setdefault(ref, i)
    rows: dict[tuple[int, int], int] = defaultdict(int)
    slot = {}
    for node in sorted(nodes, key=lambda n: (col[n], n)):
        key = (lane_of.get(node, 0), col[node])
        slot[node] = rows[key]
        rows[key] += 1
    band_rows = [max([rows[(i, c)] for c in set(col.values())] + [1]) for i in range(len(lanes))]
    band_top = []
    y = top
    for count in band_rows:
        band_top.append(y)
        y += count * ROW
    width = LEFT + (max(col.values(), default=0) + 1) * COL
    boxes: dict[str, tuple] = {}
    for node_id, el in nodes.items():
        w, h = _size(_local(el))
        cx = LEFT + POOL_HEADER + col[node_id] * COL + COL / 2
        cy = band_top[lane_of.get(node_id, 0)] + slot[node_id] * ROW + ROW / 2
        boxes[node_id] = (cx - w / 2, cy - h / 2, w, h)
    if participant is not None:
        shape = etree.SubElement(
            plane, f"{{{DI_NS}}}BPMNShape", id=f"{participant.get('id')}_di", bpmnElement=participant.get("id")
        )
        shape.set("isHorizontal", "true")
        _add_bounds(shape, 0, top, width + POOL_HEADER, y - top)
        for i, (lane, _refs) in enumerate(lanes):
            if lane is None:
                continue
            lane_shape = etree.SubElement(
                plane, f"{{{DI_NS}}}BPMNShape", id=f"{lane.get('id')}_di", bpmnElement=lane.get("id")
            )
            lane_shape.set("isHorizontal", "true")
            _add_bounds(lane_shape, POOL_HEADER, band_top[i], width, band_rows[i] * ROW)
    for node_id, (x, y0, w, h) in boxes.items():
        shape = etree.SubElement(plane, f"{{{DI_NS}}}BPMNShape", id=f"{node_id}_di", bpmnElement=node_id)
        if _local(nodes[node_id]) in ("subProcess", "transaction", "adHocSubProcess"):
            shape.set("isExpanded", "false")
        _add_bounds(shape, x, y0, w, h)
    attached: dict[str, int] = defaultdict(int)
    for event in process.findall(f"{{{BPMN_NS}}}boundaryEvent"):
        host = boxes.get(event.get("attachedToRef") or "")
        if host is None:
            continue
        n = attached[event.get("attachedToRef")]
        attached[event.get("attachedToRef")] += 1
        box = (host[0] + host[2] - 28 - n * 40, host[1] + host[3] - 18, 36, 36)
        boxes[event.get("id")] = box
        shape = etree.SubElement(
            plane, f"{{{DI_NS}}}BPMNShape", id=f"{event.get('id')}_di", bpmnElement=event.get("id")
        )
        _add_bounds(shape, *box)
    cells = {}
    for node_id in nodes:
        row_top = band_top[lane_of.get(node_id, 0)] + slot[node_id] * ROW
        cells[node_id] = Cell(
            LEFT + POOL_HEADER + col[node_id] * COL, row_top, (lane_of.get(node_id, 0), slot[node_id]), col[node_id]
        )
    for event in boundary.values():
        host = cells.get(event.get("attachedToRef") or "")
        if host is not None and event.get("id") in boxes:
            cells[event.get("id")] = host
    if all_cells is not None:
        all_cells.update({k: Cell(c.left, c.top, (id(process), *c.row), c.column) for k, c in cells.items()})
    for el in nodes.values():
        if el.get("name") and el.get("id") in boxes and not _is_activity(_local(el)):
            _label(plane, el.get("id"), _below(boxes[el.get("id")], el.get("name")))
    labelled_hosts = set()
    for el in boundary.values():  # under the host's left half: the row ends 2 px under the event
        host = boxes.get(el.get("attachedToRef") or "")
        if el.get("name") and el.get("id") in boxes and host is not None and host not in labelled_hosts:
            labelled_hosts.add(host)  # one place per host: a second boundary label is left to the viewer
            _label(plane, el.get("id"), (host[0] - 20, host[1] + host[3] + 2, 66, 14))
    exits: dict[tuple, int] = {}
    for flow in process.findall(f"{{{BPMN_NS}}}sequenceFlow"):
        src_id, dst_id = flow.get("sourceRef") or "", flow.get("targetRef") or ""
        if src_id not in boxes or dst_id not in boxes or src_id not in cells or dst_id not in cells:
            continue
        edge = etree.SubElement(plane, f"{{{DI_NS}}}BPMNEdge", id=f"{flow.get('id')}_di", bpmnElement=flow.get("id"))
        points, label = _route(src_id, dst_id, boxes, cells, boundary, flow.get("name"))
        if label is not None and len(points) > 2:  # labels beside a shared first segment: right, then left
            side = (src_id, points[1][1])
            used = exits.get(side, 0)
            exits[side] = used + 1
            if used == 1:
                label = (points[0][0] - 4 - label[2], label[1], label[2], label[3])
            elif used > 1:
                label = None
        for px, py in points:
            etree.SubElement(edge, f"{{{DDI_NS}}}waypoint", x=str(int(px)), y=str(int(py)))
        if label is not None:
            lab = etree.SubElement(edge, f"{{{DI_NS}}}BPMNLabel")
            _add_bounds(lab, *label)
    return boxes, y


def _layout(root: etree._Element) -> None:
    processes = {p.get("id"): p for p in root.findall(f"{{{BPMN_NS}}}process")}
    collab = root.find(f"{{{BPMN_NS}}}collaboration")
    nsmap = {"bpmndi": DI_NS, "dc": DC_NS, "di": DDI_NS}
    diagram = etree.SubElement(root, f"{{{DI_NS}}}BPMNDiagram", id=AUTO_ID, name="自动布局", nsmap=nsmap)
    pairs: list[tuple[etree._Element, etree._Element | None]] = []
    if collab is not None:
        for participant in collab.findall(f"{{{BPMN_NS}}}participant"):
            process = processes.get(participant.get("processRef") or "")
            if process is not None:
                pairs.append((process, participant))
    if not pairs:
        executable = [p for p in processes.values() if p.get("isExecutable") == "true"]
        first = (executable or list(processes.values()))[:1]
        pairs = [(first[0], None)] if first else []
    plane_of = collab.get("id") if collab is not None and pairs and pairs[0][1] is not None else None
    plane = etree.SubElement(
        diagram, f"{{{DI_NS}}}BPMNPlane", id=f"{AUTO_ID}_plane", bpmnElement=plane_of or pairs[0][0].get("id")
    )
    top = 0.0
    boxes: dict[str, tuple] = {}
    cells: dict[str, Cell] = {}
    for process, participant in pairs:
        drawn, bottom = _layout_process(plane, process, participant, top, cells)
        boxes.update(drawn)
        top = bottom + 40
    if collab is not None:
        for flow in collab.findall(f"{{{BPMN_NS}}}messageFlow"):
            src, dst = boxes.get(flow.get("sourceRef") or ""), boxes.get(flow.get("targetRef") or "")
            if src is None or dst is None:
                continue
            edge = etree.SubElement(
                plane, f"{{{DI_NS}}}BPMNEdge", id=f"{flow.get('id')}_di", bpmnElement=flow.get("id")
            )
            src_id, dst_id = flow.get("sourceRef"), flow.get("targetRef")
            if src_id in cells and dst_id in cells:
                points, _label_box = _route(src_id, dst_id, boxes, cells, {}, None)
            else:  # a pool itself: straight down
                points = [(src[0] + src[2] / 2, src[1] + src[3]), (dst[0] + dst[2] / 2, dst[1])]
            for px, py in points:
                etree.SubElement(edge, f"{{{DDI_NS}}}waypoint", x=str(int(px)), y=str(int(py)))
