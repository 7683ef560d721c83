"""Checks of a diagram's geometry (BPMNDI): which sequence / message flows cross a shape or a label that
is not their own source or target. Used by the layout tests; a generated layout must have none."""

from __future__ import annotations

from itertools import pairwise

from lxml import etree

from app.processes.layout import BPMN_NS, DC_NS, DDI_NS, DI_NS

Box = tuple[float, float, float, float]  # x, y, width, height


def _bounds(el) -> Box | None:
    b = el.find(f"{{{DC_NS}}}Bounds")
    if b is None:
        return None
    return float(b.get("x")), float(b.get("y")), float(b.get("width")), float(b.get("height"))


def _segment_hits_box(p, q, box: Box, inset: float = 2.0) -> bool:
    """Does the segment p-q pass through the inside of the box (shrunk by `inset`)?"""
    x0, y0 = box[0] + inset, box[1] + inset
    x1, y1 = box[0] + box[2] - inset, box[1] + box[3] - inset
    if x1 <= x0 or y1 <= y0:
        return False
    (px, py), (qx, qy) = p, q
    # Liang-Barsky clipping
    t0, t1 = 0.0, 1.0
    dx, dy = qx - px, qy - py
    for pk, qk in ((-dx, px - x0), (dx, x1 - px), (-dy, py - y0), (dy, y1 - py)):
        if pk == 0:
            if qk < 0:
                return False
            continue
        t = qk / pk
        if pk < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return t1 - t0 > 1e-6


def _boxes_overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def crossings(xml: str | bytes) -> list[str]:
    """Descriptions of every flow segment that crosses a foreign shape or label, and of overlapping labels."""
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    elements = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    shapes: dict[str, Box] = {}
    labels: dict[str, Box] = {}
    containers = {"participant", "lane", "subProcess", "transaction", "adHocSubProcess", "group", "textAnnotation"}
    for shape in root.iter(f"{{{DI_NS}}}BPMNShape"):
        ref = shape.get("bpmnElement")
        el = elements.get(ref)
        kind = etree.QName(el).localname if el is not None else ""
        box = _bounds(shape)
        if box and kind not in containers:
            shapes[ref] = box
        label = shape.find(f"{{{DI_NS}}}BPMNLabel")
        if label is not None and _bounds(label):
            labels[ref] = _bounds(label)
    for edge in root.iter(f"{{{DI_NS}}}BPMNEdge"):
        label = edge.find(f"{{{DI_NS}}}BPMNLabel")
        if label is not None and _bounds(label):
            labels[edge.get("bpmnElement")] = _bounds(label)
    found = []
    placed = sorted(labels.items())
    for i, (a, box_a) in enumerate(placed):
        for b, box_b in placed[i + 1 :]:
            if _boxes_overlap(box_a, box_b):
                found.append(f"{a} 的标签与 {b} 的标签重叠")
    for edge in root.iter(f"{{{DI_NS}}}BPMNEdge"):
        ref = edge.get("bpmnElement")
        flow = elements.get(ref)
        if flow is None or etree.QName(flow).localname not in ("sequenceFlow", "messageFlow"):
            continue
        own = {flow.get("sourceRef"), flow.get("targetRef"), ref}
        # A boundary event's flow may leave over its host; a flow into / out of a boundary event's host is own.
        for end in (flow.get("sourceRef"), flow.get("targetRef")):
            end_el = elements.get(end)
            if end_el is not None and etree.QName(end_el).localname == "boundaryEvent":
                own.add(end_el.get("attachedToRef"))
        points = [(float(w.get("x")), float(w.get("y"))) for w in edge.findall(f"{{{DDI_NS}}}waypoint")]
        for p, q in pairwise(points):
            for other, box in shapes.items():
                if other not in own and _segment_hits_box(p, q, box):
                    found.append(f"{ref} 穿过 {other}")
            for other, box in labels.items():
                if other not in own and _segment_hits_box(p, q, box, inset=1.0):
                    found.append(f"{ref} 穿过 {other} 的标签")
    return sorted(set(found))


def strip_di(xml: bytes) -> bytes:
    """The same BPMN without any diagram (to test the generated layout on files drawn by other tools)."""
    root = etree.fromstring(xml)
    for diagram in root.findall(f"{{{DI_NS}}}BPMNDiagram"):
        root.remove(diagram)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


__all__ = ["BPMN_NS", "crossings", "strip_di"]
