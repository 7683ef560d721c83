"""Static checks of DMN decision tables (SpiffWorkflow's DMN dialect).

Entries are Python fragments, not FEEL: ``>= 100``, ``"A"``, ``? in ("a", "b")``, ``-`` for any.
Every entry must compile in the restricted environment exactly as ``DMNEngine`` will build it, and
a UNIQUE table must not have two rules that can match the same input (SpiffWorkflow does not check
UNIQUE; it returns the first match). The overlap check understands literals, ``in`` lists and
numeric comparisons/ranges; entries it cannot read are only compared by their text.
"""

from __future__ import annotations

import ast
import re

from lxml import etree

from app.engine.errors import Severity, SpecProblem
from app.engine.scripting import lint_script
from app.engine.speclint import local, owner

_QUESTION = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")  # a "?" outside quotes, as DMNEngine
_HIT_POLICIES = {"UNIQUE", "FIRST", "COLLECT"}
_ANY = ("any",)


def decision_ids(root: etree._Element) -> list[str]:
    """Ids of the decisions in a DMN document."""
    return [d.get("id") for d in root if local(d) == "decision" and d.get("id")]


def _entry_expression(input_expr: str, entry: str) -> str:
    """The expression SpiffWorkflow's DMNEngine evaluates for one input entry."""
    if _QUESTION.search(entry):
        return _QUESTION.sub("dmninputexpr", entry)
    try:
        ast.parse(entry)
        return f"({input_expr}) == ({entry})"
    except SyntaxError:
        return input_expr + entry


def _classify(entry: str | None) -> tuple:
    """A constraint for the overlap check: any, a set of literals, a numeric range, or unknown."""
    text = (entry or "").strip()
    if text in ("", "-"):
        return _ANY
    source = _QUESTION.sub("dmninputexpr", text)
    for candidate in (source, f"dmninputexpr {source}"):
        try:
            node = ast.parse(candidate, mode="eval").body
        except SyntaxError:
            continue
        try:
            if not isinstance(node, ast.Compare):
                return ("set", frozenset({ast.literal_eval(node)}))
            operands = [node.left, *node.comparators]
            is_var = [isinstance(o, ast.Name) and o.id == "dmninputexpr" for o in operands]
            if sum(is_var) != 1:
                break
            if len(node.ops) == 1 and isinstance(node.ops[0], ast.In) and is_var[0]:
                return ("set", frozenset(ast.literal_eval(operands[1])))
            lo, lo_inc, hi, hi_inc = float("-inf"), False, float("inf"), False
            for i, op in enumerate(node.ops):
                left, right = operands[i], operands[i + 1]
                if is_var[i]:  # ? op value
                    value, op_name = ast.literal_eval(right), type(op).__name__
                elif is_var[i + 1]:  # value op ?  ->  ? flipped-op value
                    value = ast.literal_eval(left)
                    op_name = {"Lt": "Gt", "LtE": "GtE", "Gt": "Lt", "GtE": "LtE"}.get(type(op).__name__, "")
                else:
                    raise ValueError(candidate)
                if isinstance(op, ast.Eq):
                    return ("set", frozenset({value}))
                if not isinstance(value, (int, float)) or op_name not in ("Lt", "LtE", "Gt", "GtE"):
                    raise ValueError(candidate)
                if op_name in ("Gt", "GtE") and value >= lo:
                    lo, lo_inc = value, op_name == "GtE"
                elif op_name in ("Lt", "LtE") and value <= hi:
                    hi, hi_inc = value, op_name == "LtE"
            return ("range", lo, lo_inc, hi, hi_inc)
        except (ValueError, TypeError, SyntaxError):
            break
    return ("unknown", " ".join(text.split()))


def _in_range(value: object, rng: tuple) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    _, lo, lo_inc, hi, hi_inc = rng
    return (value > lo or (lo_inc and value == lo)) and (value < hi or (hi_inc and value == hi))


def _overlap(a: tuple, b: tuple) -> bool:
    if a == _ANY or b == _ANY:
        return True
    if a[0] == "unknown" or b[0] == "unknown":
        return a == b  # identical text overlaps; otherwise we cannot tell and do not report
    if a[0] == "set" and b[0] == "set":
        return bool(a[1] & b[1])
    if a[0] == "set" or b[0] == "set":
        values, rng = (a[1], b) if a[0] == "set" else (b[1], a)
        return any(_in_range(v, rng) for v in values)
    lo, lo_inc = max((a[1], a[2]), (b[1], b[2]), key=lambda t: (t[0], not t[1]))
    hi, hi_inc = min((a[3], a[4]), (b[3], b[4]), key=lambda t: (t[0], t[1]))
    return lo < hi or (lo == hi and lo_inc and hi_inc)


def lint_dmn(file: str, root: etree._Element) -> list[SpecProblem]:
    """Static problems of one DMN document."""
    ns = {"dmn": etree.QName(root).namespace or ""}
    problems: list[SpecProblem] = []

    def add(el: etree._Element, message: str, severity: Severity = "error") -> None:
        problems.append(SpecProblem(file, owner(el).get("id"), el.sourceline, message, severity))

    decisions = root.findall("dmn:decision", ns)
    if not decisions:
        add(root, "DMN 文件中没有决策")
    for extra in decisions[1:]:
        add(extra, "每个 DMN 文件只能包含一个决策（SpiffWorkflow 的限制），请拆分文件")
    for decision in decisions[:1]:
        table = decision.find("dmn:decisionTable", ns)
        label = decision.get("name") or decision.get("id")
        if table is None:
            add(decision, f"决策「{label}」没有决策表（只支持决策表）")
            continue
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        if policy not in _HIT_POLICIES:
            add(table, f"命中策略 {policy} 不被支持，将按 FIRST（取第一条命中的规则）处理", "warning")
        elif policy == "COLLECT" and table.get("aggregation"):
            add(table, f"COLLECT 的聚合 {table.get('aggregation')} 不被支持，结果将是列表", "warning")
        inputs = []
        for inp in table.findall("dmn:input", ns):
            expr = (inp.findtext("dmn:inputExpression/dmn:text", None, ns) or "").strip()
            if not expr:
                add(inp, "输入列缺少表达式（inputExpression）")
            else:
                for _line, message in lint_script(expr, "eval"):
                    add(inp, f"输入表达式「{expr}」：{message}")
            inputs.append(expr or "None")
        for out in table.findall("dmn:output", ns):
            if not (out.get("name") or out.get("label")):
                add(out, "输出列缺少名称（name）")
        seen: list[tuple[int, list[tuple]]] = []
        for row, rule in enumerate(table.findall("dmn:rule", ns), start=1):
            entries = rule.findall("dmn:inputEntry", ns)
            if len(entries) != len(inputs):
                add(rule, f"第 {row} 条规则有 {len(entries)} 个输入条目，但决策表有 {len(inputs)} 个输入列")
                continue
            constraints = []
            for col, (entry, expr) in enumerate(zip(entries, inputs, strict=True), start=1):
                text = (entry.findtext("dmn:text", None, ns) or "").strip()
                constraints.append(_classify(text))
                if text in ("", "-"):
                    continue
                where = f"第 {row} 条规则第 {col} 列「{text}」"
                built = _entry_expression(expr, text)
                if built == expr + text and text[:1].isalpha():
                    add(entry, f"{where}：以关键字开头的条目请用 ? 指代输入，如 ? {text}")
                    continue
                for _line, message in lint_script(built, "eval"):
                    add(entry, f"{where}：{message}")
            for entry in rule.findall("dmn:outputEntry", ns):
                text = (entry.findtext("dmn:text", None, ns) or "").strip()
                for _line, message in lint_script(text, "eval") if text else []:
                    add(entry, f"第 {row} 条规则的输出「{text}」：{message}")
            if policy == "UNIQUE":
                for other_row, other in seen:
                    if all(_overlap(a, b) for a, b in zip(constraints, other, strict=True)):
                        add(
                            rule,
                            f"决策表「{label}」的命中策略为 UNIQUE，但第 {other_row} 条规则与第 {row} "
                            "条规则可能同时命中（引擎只会取第一条），请收窄条件或改用 FIRST/COLLECT",
                        )
                        break
            seen.append((row, constraints))
    return problems
