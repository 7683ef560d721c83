"""The designer's tree JSON: its canonical form (``normalize``), Python literals, and structural checks.

A tree is a process header, a start node, a list of nodes and an end::

    {"process": {"id": "leave", "name": "请假审批", "props": {"titleRule": "{subject}"}},
     "start": {"id": "start", "name": "发起人", "roles": ["district_officer"], "form": "simple_request.schema.json"},
     "nodes": [
        {"id": "node_a1", "type": "approval", "name": "直属领导审批",
         "props": {"assignee": "leader", "method": "single", "rejectPolicy": "end"}},
        {"id": "node_b2", "type": "condition", "name": "条件分支", "branches": [
            {"id": "flow_c3", "name": "金额大于1万", "condition": {"match": "all",
             "rules": [{"field": "amount", "op": ">", "value": 10000}]}, "nodes": [...]},
            {"id": "flow_d4", "name": "其他情况", "condition": null, "nodes": []}]}],
     "end": {"id": "end", "name": "结束"}}

Node types: approval / task (``props`` are the user task's ``spiffworkflow:properties``, read by
``app.engine.nodes``; ``rejectPolicy: "end"`` is the designer's own value: a rejection ends the process
through an exclusive gateway), cc (``users``, ``note``), condition / inclusive / parallel
(``branches``; a condition is ``null`` for the default branch, ``{"match", "rules"}`` or
``{"expression"}``), delay (``amount``, ``unit``), trigger (``mode`` http: ``url``, ``method``,
``fields``, ``timeout``, ``result``, ``onError``; ``mode`` update: ``assignments``), subprocess
(``process``). ``normalize`` gives every tree one canonical shape, so tree → BPMN → tree is identical.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from app.errors import ValidationFailed

NODE_TYPES = {
    "approval": "审批人",
    "task": "办理人",
    "cc": "抄送人",
    "condition": "条件分支",
    "parallel": "并行分支",
    "inclusive": "包容分支",
    "delay": "延迟器",
    "trigger": "触发器",
    "subprocess": "子流程",
}
BRANCH_TYPES = {"condition", "inclusive", "parallel"}
OPERATORS = {
    "==": "等于",
    "!=": "不等于",
    ">": "大于",
    ">=": "大于等于",
    "<": "小于",
    "<=": "小于等于",
    "in": "属于",
    "not_in": "不属于",
    "contains": "包含",
    "empty": "为空",
    "not_empty": "不为空",
}
UNARY_OPERATORS = {"empty", "not_empty"}
LIST_OPERATORS = {"in", "not_in"}
DELAY_UNITS = {"minutes": "分钟", "hours": "小时", "days": "天", "working_days": "工作日"}
HTTP_METHODS = ("POST", "GET", "PUT")
ON_ERROR = ("fail", "continue")
REJECT_END = "end"  # designer-only rejectPolicy: a rejection ends the process (gateway + end event)

_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-.]{0,99}$")
PROCESS_ID = re.compile(r"^[A-Za-z_][\w\-.]{0,99}$", re.ASCII)
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Problem:
    """A finding about the tree, pinned on a node (or branch) id."""

    node_id: str | None
    message: str
    severity: str = "error"

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Python literals (condition values, service parameters, field updates)


def py_literal(value: Any) -> str:
    """A JSON value as Python source: strings in double quotes, True/False/None, lists."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationFailed("数值必须是有限的数字")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    raise ValidationFailed(f"不支持的值：{value!r}")


def is_field_name(name: Any) -> bool:
    return isinstance(name, str) and bool(_FIELD.match(name))


def is_element_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_ID.match(value)) and "__" not in value


# ---------------------------------------------------------------------------------------------
# canonical form


def _text(value: Any, default: str = "") -> str:
    if value is None:
        return default
    return str(value).strip() or default


def _str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.replace("，", ",").split(",")
    if not isinstance(value, list | tuple):
        return []
    return [s for s in (_text(v) for v in value) if s]


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _props(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k).strip(): _text(v) for k, v in value.items() if str(k).strip() and _text(v) != ""}


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, str):
        return value
    return str(value)


def _rule(rule: Any) -> dict:
    rule = rule if isinstance(rule, dict) else {}
    op = _text(rule.get("op"), "==")
    value = rule.get("value")
    if op in UNARY_OPERATORS:
        value = None
    elif op in LIST_OPERATORS:
        value = [_scalar(v) for v in (value if isinstance(value, list) else _str_list(value))]
    else:
        value = _scalar(value)
    return {"field": _text(rule.get("field")), "op": op, "value": value}


def _condition(cond: Any) -> dict | None:
    if not isinstance(cond, dict):
        return None
    if "expression" in cond:
        return {"expression": _text(cond.get("expression"))}
    match = "any" if cond.get("match") == "any" else "all"
    return {"match": match, "rules": [_rule(r) for r in cond.get("rules") or []]}


def _branch(branch: Any, kind: str) -> dict:
    branch = branch if isinstance(branch, dict) else {}
    condition = None if kind == "parallel" else _condition(branch.get("condition"))
    return {
        "id": _text(branch.get("id")),
        "name": _text(branch.get("name"), "其他情况" if condition is None and kind != "parallel" else "分支"),
        "condition": condition,
        "nodes": [normalize_node(n) for n in branch.get("nodes") or []],
    }


def normalize_node(node: Any) -> dict:
    if not isinstance(node, dict):
        raise ValidationFailed("节点必须是 JSON 对象")
    kind = node.get("type")
    if kind not in NODE_TYPES:
        raise ValidationFailed(f"未知的节点类型：{kind!r}")
    out: dict[str, Any] = {"id": _text(node.get("id")), "type": kind, "name": _text(node.get("name"), NODE_TYPES[kind])}
    if kind in ("approval", "task"):
        props = _props(node.get("props"))
        props.pop("kind", None)
        if kind == "task" and props.get("rejectPolicy") == REJECT_END:
            props.pop("rejectPolicy")
        out["props"] = props
    elif kind == "cc":
        out["users"] = _str_list(node.get("users"))
        out["note"] = _text(node.get("note"))
    elif kind in BRANCH_TYPES:
        out["branches"] = [_branch(b, kind) for b in node.get("branches") or []]
    elif kind == "delay":
        out["amount"] = _int(node.get("amount"), 1)
        out["unit"] = node.get("unit") if node.get("unit") in DELAY_UNITS else "hours"
    elif kind == "trigger":
        mode = "update" if node.get("mode") == "update" else "http"
        out["mode"] = mode
        if mode == "http":
            method = _text(node.get("method"), "POST").upper()
            out["url"] = _text(node.get("url"))
            out["method"] = method
            out["fields"] = _str_list(node.get("fields"))
            out["timeout"] = _int(node.get("timeout"), 10)
            out["result"] = _text(node.get("result"), f"{out['id']}_response".replace("-", "_").replace(".", "_"))
            out["onError"] = node.get("onError") if node.get("onError") in ON_ERROR else "fail"
        else:
            out["assignments"] = [
                {"field": _text(a.get("field")), "value": _scalar(a.get("value"))}
                for a in node.get("assignments") or []
                if isinstance(a, dict)
            ]
    elif kind == "subprocess":
        out["process"] = _text(node.get("process"))
    return out


def normalize(tree: Any) -> dict:
    """The canonical tree: every key present, in one order, empty values dropped from props."""
    if isinstance(tree, str):
        try:
            tree = json.loads(tree)
        except ValueError as exc:
            raise ValidationFailed(f"流程树不是有效的 JSON：{exc}") from exc
    if not isinstance(tree, dict):
        raise ValidationFailed("流程树必须是 JSON 对象")
    process = tree.get("process") if isinstance(tree.get("process"), dict) else {}
    start = tree.get("start") if isinstance(tree.get("start"), dict) else {}
    end = tree.get("end") if isinstance(tree.get("end"), dict) else {}
    props = _props(process.get("props"))
    for key in ("startRoles", "startForm"):
        props.pop(key, None)
    nodes = tree.get("nodes") if isinstance(tree.get("nodes"), list) else []
    return {
        "process": {"id": _text(process.get("id")), "name": _text(process.get("name")), "props": props},
        "start": {
            "id": _text(start.get("id"), "start"),
            "name": _text(start.get("name"), "发起人"),
            "roles": _str_list(start.get("roles")),
            "form": _text(start.get("form")),
        },
        "nodes": [normalize_node(n) for n in nodes],
        "end": {"id": _text(end.get("id"), "end"), "name": _text(end.get("name"), "结束")},
    }


def walk(nodes: list[dict]):
    """Every node of a node list, branches included (depth first, in order)."""
    for node in nodes:
        yield node
        for branch in node.get("branches") or []:
            yield from walk(branch["nodes"])


def all_ids(tree: dict) -> list[str]:
    ids = [tree["start"]["id"], tree["end"]["id"]]
    for node in walk(tree["nodes"]):
        ids.append(node["id"])
        ids += [b["id"] for b in node.get("branches") or []]
    return ids


# ---------------------------------------------------------------------------------------------
# structural checks (no database): what the compiler needs to produce a sensible process


def rules_expression(condition: dict) -> str:
    """The Python condition of a rules condition (``amount > 10000 and category == "a"``)."""
    parts = []
    for rule in condition["rules"]:
        field, op, value = rule["field"], rule["op"], rule["value"]
        if op == "empty":
            parts.append(f"not {field}")
        elif op == "not_empty":
            parts.append(field)
        elif op == "contains":
            parts.append(f"{py_literal(value)} in {field}")
        elif op == "not_in":
            parts.append(f"{field} not in {py_literal(value)}")
        else:
            parts.append(f"{field} {op} {py_literal(value)}")
    return (" or " if condition["match"] == "any" else " and ").join(parts)


def condition_expression(condition: dict | None) -> str | None:
    if condition is None:
        return None
    if "expression" in condition:
        return condition["expression"]
    return rules_expression(condition)


class _Checker:
    def __init__(self, tree: dict) -> None:
        self.tree = tree
        self.problems: list[Problem] = []

    def add(self, node_id: str | None, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(node_id, message, severity))

    def run(self) -> list[Problem]:
        process, start = self.tree["process"], self.tree["start"]
        if not PROCESS_ID.match(process["id"]):
            self.add(start["id"], "请填写流程 id：以字母开头，只含字母、数字、下划线、连字符和点")
        if not process["name"]:
            self.add(start["id"], "请填写流程名称")
        seen: set[str] = set()
        for element_id in all_ids(self.tree):
            if not is_element_id(element_id):
                self.add(element_id or None, f"节点 id「{element_id}」不合法（字母开头，不含连续下划线）")
            elif element_id in seen:
                self.add(element_id, f"节点 id「{element_id}」重复")
            seen.add(element_id)
        if not self.tree["nodes"]:
            self.add(start["id"], "流程中还没有节点，请点击“+”添加审批人或办理人")
        for node in walk(self.tree["nodes"]):
            getattr(self, f"check_{node['type']}")(node)
        return self.problems

    def check_approval(self, node: dict) -> None:
        props = node["props"]
        who = "审批人" if node["type"] == "approval" else "办理人"
        if not props.get("assignee"):
            self.add(node["id"], f"「{node['name']}」还没有设置{who}")
        method = props.get("method", "single")
        if node["type"] == "approval" and not re.match(r"^(single|all|any|sequential|ratio:\d{1,3})$", method):
            self.add(node["id"], f"「{node['name']}」的多人审批方式「{method}」无效")
        policy = props.get("rejectPolicy", "continue")
        if policy.startswith("return:") and policy not in ("return:initiator",):
            target = policy.partition(":")[2]
            if target not in {n["id"] for n in walk(self.tree["nodes"]) if n["type"] in ("approval", "task")}:
                self.add(node["id"], f"「{node['name']}」拒绝后退回的节点「{target}」不存在")
        for key in ("dueWorkingDays", "dueDays", "remindTimes"):
            if key in props and not props[key].isdigit():
                self.add(node["id"], f"「{node['name']}」的期限设置必须是整数")

    check_task = check_approval

    def check_cc(self, node: dict) -> None:
        if not node["users"]:
            self.add(node["id"], f"「{node['name']}」还没有选择抄送人员")

    def check_condition(self, node: dict) -> None:
        branches = node["branches"]
        if len(branches) < 2:
            self.add(node["id"], f"「{node['name']}」至少需要两个分支")
        if node["type"] == "parallel":
            return
        defaults = [b for b in branches if b["condition"] is None]
        if len(defaults) != 1 or (branches and branches[-1]["condition"] is not None):
            self.add(node["id"], f"「{node['name']}」必须有且只有一个“其他情况”分支，且放在最后")
        for branch in branches:
            condition = branch["condition"]
            if condition is None:
                continue
            if "expression" in condition:
                if not condition["expression"]:
                    self.add(branch["id"], f"分支「{branch['name']}」的条件表达式为空")
                continue
            if not condition["rules"]:
                self.add(branch["id"], f"分支「{branch['name']}」还没有设置条件")
            for rule in condition["rules"]:
                if not is_field_name(rule["field"]):
                    self.add(branch["id"], f"分支「{branch['name']}」的条件字段「{rule['field']}」不是有效的字段名")
                if rule["op"] not in OPERATORS:
                    self.add(branch["id"], f"分支「{branch['name']}」的比较方式「{rule['op']}」无效")
                elif rule["op"] not in UNARY_OPERATORS and rule["value"] in (None, "", []):
                    self.add(branch["id"], f"分支「{branch['name']}」的条件“{rule['field']}”缺少比较值")

    check_inclusive = check_parallel = check_condition

    def check_delay(self, node: dict) -> None:
        if node["amount"] < 1:
            self.add(node["id"], f"「{node['name']}」的延迟时长必须是正整数")

    def check_trigger(self, node: dict) -> None:
        if node["mode"] == "update":
            if not node["assignments"]:
                self.add(node["id"], f"「{node['name']}」还没有设置要更新的字段")
            for item in node["assignments"]:
                if not is_field_name(item["field"]):
                    self.add(node["id"], f"「{node['name']}」要更新的字段「{item['field']}」不是有效的字段名")
            return
        if not re.match(r"^https?://[^\s/]+", node["url"], re.I):
            self.add(node["id"], f"「{node['name']}」的地址必须以 http:// 或 https:// 开头")
        if node["method"] not in HTTP_METHODS:
            self.add(node["id"], f"「{node['name']}」的请求方式只能是 {'、'.join(HTTP_METHODS)}")
        if not 1 <= node["timeout"] <= 30:
            self.add(node["id"], f"「{node['name']}」的超时时间必须在 1～30 秒之间")
        if not is_field_name(node["result"]):
            self.add(node["id"], f"「{node['name']}」的结果字段「{node['result']}」不是有效的字段名")
        for field in node["fields"]:
            if not is_field_name(field):
                self.add(node["id"], f"「{node['name']}」发送的字段「{field}」不是有效的字段名")

    def check_subprocess(self, node: dict) -> None:
        if not PROCESS_ID.match(node["process"]):
            self.add(node["id"], f"「{node['name']}」还没有选择要调用的流程")


def check(tree: dict) -> list[Problem]:
    """Structural problems of a normalized tree (Chinese messages, pinned on node ids)."""
    return _Checker(tree).run()
