"""A layered layout for compiled trees: x by depth (one column per step), y by branch (one row per lane).

The tree's shape gives the layout directly: a node list takes the sum of its nodes' widths and the
largest of their heights; a branch node takes a split column, the widest branch, and a join column,
and stacks its branches one under the other (an empty branch still takes a row). The main line stays
straight: split and join sit on the row of the first branch. A rejection end sits under its gateway.
"""

from __future__ import annotations

from dataclasses import dataclass

COL_W, ROW_H, LEFT, TOP = 150, 150, 40, 40
SIZES = {"event": (36, 36), "gateway": (50, 50), "activity": (100, 80)}


@dataclass(frozen=True)
class Box:
    """A shape's centre and size."""

    cx: float
    cy: float
    w: int
    h: int

    @property
    def bounds(self) -> tuple[float, float, int, int]:
        return self.cx - self.w / 2, self.cy - self.h / 2, self.w, self.h


def rejects(node: dict) -> bool:
    """An approval node whose rejection ends the process (task + gateway + end event)."""
    return node["type"] == "approval" and node["props"].get("rejectPolicy") == "end"


def width(nodes: list[dict]) -> int:
    return sum(_node_width(n) for n in nodes)


def _node_width(node: dict) -> int:
    if node.get("branches") is not None:
        return 2 + max((width(b["nodes"]) for b in node["branches"]), default=0)
    return 2 if rejects(node) else 1


def height(nodes: list[dict]) -> int:
    return max((_node_height(n) for n in nodes), default=1)


def _node_height(node: dict) -> int:
    if node.get("branches") is not None:
        return max(1, sum(height(b["nodes"]) for b in node["branches"]))
    return 1


def row_centre(row: int) -> float:
    return TOP + row * ROW_H + ROW_H / 2


def _centre(col: int, row: int) -> tuple[float, float]:
    return LEFT + col * COL_W + COL_W / 2, TOP + row * ROW_H + ROW_H / 2


def _box(col: int, row: int, kind: str, dy: float = 0) -> Box:
    cx, cy = _centre(col, row)
    w, h = SIZES[kind]
    return Box(cx, cy + dy, w, h)


def place(tree: dict, ids) -> tuple[dict[str, Box], dict[str, float]]:
    """Shape boxes by BPMN element id, and the row (y) of each empty branch's flow by flow id.

    ``ids`` names the derived elements (joins, rejection gateways and ends): see ``compile.Ids``.
    """
    boxes: dict[str, Box] = {tree["start"]["id"]: _box(0, 0, "event")}
    vias: dict[str, float] = {}

    def seq(nodes: list[dict], col: int, row: int) -> None:
        for node in nodes:
            one(node, col, row)
            col += _node_width(node)

    def one(node: dict, col: int, row: int) -> None:
        kind = node["type"]
        if node.get("branches") is not None:
            boxes[node["id"]] = _box(col, row, "gateway")
            r = row
            for branch in node["branches"]:
                seq(branch["nodes"], col + 1, r)
                if not branch["nodes"] and r != row:
                    vias[branch["id"]] = row_centre(r)
                r += height(branch["nodes"])
            join_col = col + 1 + max((width(b["nodes"]) for b in node["branches"]), default=0)
            boxes[ids.join(node)] = _box(join_col, row, "gateway")
            return
        boxes[node["id"]] = _box(col, row, "event" if kind == "delay" else "activity")
        if rejects(node):
            boxes[ids.reject_gateway(node)] = _box(col + 1, row, "gateway")
            boxes[ids.reject_end(node)] = _box(col + 1, row, "event", dy=62)

    seq(tree["nodes"], 1, 0)
    boxes[tree["end"]["id"]] = _box(1 + width(tree["nodes"]), 0, "event")
    return boxes, vias


def waypoints(
    source: Box, target: Box, *, leave_vertically: bool, enter_vertically: bool, via_y: float | None = None
) -> list[tuple[float, float]]:
    """An orthogonal edge: straight on one row; a branch leaves its split vertically and enters its join
    vertically, so no edge crosses another branch's row; ``via_y`` routes an empty branch (split straight
    to join) along its own row.
    """
    sx, sy, tx, ty = source.cx, source.cy, target.cx, target.cy
    if via_y is not None and abs(via_y - sy) >= 1:
        return [(sx, sy + source.h / 2), (sx, via_y), (tx, via_y), (tx, ty + target.h / 2)]
    if abs(sy - ty) < 1:
        return [(sx + source.w / 2, sy), (tx - target.w / 2, ty)]
    if abs(sx - tx) < 1:  # a rejection end right under its gateway
        return [(sx, sy + source.h / 2), (tx, ty - target.h / 2)]
    if leave_vertically:
        start_y = sy + source.h / 2 if ty > sy else sy - source.h / 2
        return [(sx, start_y), (sx, ty), (tx - target.w / 2, ty)]
    if enter_vertically:
        end_y = ty + target.h / 2 if sy > ty else ty - target.h / 2
        return [(sx + source.w / 2, sy), (tx, sy), (tx, end_y)]
    mid = (sx + source.w / 2 + tx - target.w / 2) / 2
    return [(sx + source.w / 2, sy), (mid, sy), (mid, ty), (tx - target.w / 2, ty)]
