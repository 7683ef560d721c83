"""Words for people: the fields of a version's forms (titles, option titles, formats, order) and
gateway conditions written out with those titles ("若 风险等级 = 高").

``field_catalog(version)`` reads every ``*.schema.json`` of the version once (cached by content hash).
``condition_words(expr, catalog)`` turns a Python condition into Chinese words; what it cannot read
is shown as written, never dropped.
"""

from __future__ import annotations

import ast
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from app.engine.forms import _options

# Decisions the runtime itself sets on approval nodes.
BUILTIN = {
    "approved": ("审批结果", {True: "通过", False: "不通过"}),
    "outcome": ("处理结果", {"approve": "通过", "reject": "拒绝"}),
}
_OPS = {
    ast.Eq: "=",
    ast.NotEq: "≠",
    ast.Gt: ">",
    ast.GtE: "≥",
    ast.Lt: "<",
    ast.LtE: "≤",
    ast.In: "属于",
    ast.NotIn: "不属于",
}


@dataclass
class FieldLabel:
    name: str
    title: str
    type: str = "string"
    format: str | None = None
    options: dict[Any, str] = field(default_factory=dict)
    item_titles: list[tuple[str, str]] = field(default_factory=list)  # arrays of objects: (key, title)

    def show(self, value: Any) -> str:
        if isinstance(value, bool):
            return self.options.get(value) or ("是" if value else "否")
        try:
            return self.options.get(value, str(value))
        except TypeError:  # unhashable
            return str(value)


_CACHE: dict[str, dict[str, FieldLabel]] = {}
_LOCK = threading.Lock()


def field_catalog(version) -> dict[str, FieldLabel]:
    """Every field of the version's form schemas, in the order the forms define them; first title wins."""
    key = getattr(version, "content_hash", None) or str(id(version))
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    catalog: dict[str, FieldLabel] = {}
    for name in sorted(version.forms or {}):
        if not name.endswith(".schema.json"):
            continue
        try:
            schema = json.loads(version.forms[name])
        except (TypeError, ValueError):
            continue
        for prop_name, prop in (schema.get("properties") or {}).items():
            if prop_name in catalog or not isinstance(prop, dict):
                continue
            catalog[prop_name] = _label(prop_name, prop)
    for name, (title, options) in BUILTIN.items():
        catalog.setdefault(name, FieldLabel(name, title, "boolean" if name == "approved" else "string", None, options))
    with _LOCK:
        _CACHE[key] = catalog
    return catalog


def _label(name: str, prop: dict) -> FieldLabel:
    items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
    item_titles = [(k, (v or {}).get("title", k)) for k, v in (items.get("properties") or {}).items()]
    return FieldLabel(
        name=name,
        title=prop.get("title") or name,
        type=prop.get("type") or "string",
        format=prop.get("format") or items.get("format"),
        options=dict(_safe_options(prop)),
        item_titles=item_titles,
    )


def _safe_options(prop: dict) -> list[tuple[Any, str]]:
    try:
        return [(v, t) for v, t in _options(prop) if isinstance(v, (str, int, float, bool)) or v is None]
    except (AttributeError, TypeError):
        return []


def condition_words(expr: str | None, catalog: dict[str, FieldLabel]) -> str:
    """``若 …`` in words; ``其他情况`` for a default flow (no condition)."""
    if expr is None or not str(expr).strip():
        return "其他情况"
    try:
        node = ast.parse(str(expr).strip(), mode="eval").body
        return "若 " + _words(node, catalog)
    except (SyntaxError, _Unreadable):
        return f"若 {str(expr).strip()}"


class _Unreadable(Exception):
    pass


def _words(node: ast.AST, catalog: dict[str, FieldLabel]) -> str:
    if isinstance(node, ast.BoolOp):
        joiner = " 且 " if isinstance(node.op, ast.And) else " 或 "
        return joiner.join(_words(v, catalog) for v in node.values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        if isinstance(node.operand, ast.Name):
            return _truth(node.operand.id, False, catalog)
        return f"并非（{_words(node.operand, catalog)}）"
    if isinstance(node, ast.Name):
        return _truth(node.id, True, catalog)
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.left, ast.Name):
        name, op, right = node.left.id, node.ops[0], node.comparators[0]
        label = catalog.get(name) or FieldLabel(name, name)
        value = _literal(right)
        if isinstance(value, bool) and isinstance(op, (ast.Eq, ast.Is, ast.NotEq, ast.IsNot)):
            return _truth(name, value == isinstance(op, (ast.Eq, ast.Is)), catalog)
        if isinstance(value, (list, tuple, set)):
            shown = "、".join(label.show(v) for v in value)
        else:
            shown = label.show(value)
        if type(op) not in _OPS:
            raise _Unreadable
        return f"{label.title} {_OPS[type(op)]} {shown}"
    raise _Unreadable


def _truth(name: str, positive: bool, catalog: dict[str, FieldLabel]) -> str:
    if name == "approved":
        return "审批通过" if positive else "审批不通过"
    label = catalog.get(name) or FieldLabel(name, name)
    return f"{label.title} 为 {label.show(positive)}"


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError as exc:
        raise _Unreadable from exc
