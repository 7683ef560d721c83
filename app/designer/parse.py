"""Read BPMN back into a designer tree: the subset ``compile`` emits, and the same patterns written by hand.

The walk starts at the start event and follows the flows: an element with one way out is a node; a
gateway with several ways out is a branch node whose branches must all meet again at one gateway of
the same type; an approval task followed by an exclusive gateway that sends ``approved == False`` (or
``not approved``) straight to an end event is an approval whose rejection ends the process. Anything
else (lanes, boundary events, loops, message events, unknown service operations, scripts that do more
than set fields, ...) is refused with ``OutsideSubset``: a Chinese message naming the element id.
The diagram (BPMNDI) is ignored: the compiler draws its own. Lanes are read as what they mean to the
engine: a user task in a lane without its own ``assignee`` gets ``role:<lane name>``.
"""

from __future__ import annotations

import ast
import re

from lxml import etree

from app import names
from app.designer.compile import BPMN, BPMNDI, SPIFF
from app.designer.tree import (
    LIST_OPERATORS,
    normalize,
    rules_expression,
)
from app.errors import ValidationFailed

NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}
TAG_NAMES = {
    "task": "任务",
    "manualTask": "人工任务",
    "sendTask": "发送任务",
    "receiveTask": "接收任务",
    "businessRuleTask": "业务规则任务",
    "subProcess": "内嵌子流程",
    "transaction": "事务子流程",
    "adHocSubProcess": "自由子流程",
    "intermediateThrowEvent": "中间抛出事件",
    "boundaryEvent": "边界事件",
    "eventBasedGateway": "事件网关",
    "complexGateway": "复杂网关",
    "dataObject": "数据对象",
    "dataObjectReference": "数据对象",
    "dataStoreReference": "数据存储",
    "textAnnotation": "注释",
    "association": "关联",
    "message": "消息",
    "signal": "信号",
    "error": "错误",
    "escalation": "升级",
    "dataStore": "数据存储",
    "messageFlow": "消息流",
}
_BRANCH_TYPES = {"exclusiveGateway": "condition", "inclusiveGateway": "inclusive", "parallelGateway": "parallel"}
_DURATION = re.compile(r"^P(?:T(\d+)([MH])|(\d+)D)$")
_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<="}
_CC_PARAMS = {"users", "note"}
_OUTSIDE = "不在简易设计器支持的范围内"
INSTRUCTIONS = "instructions"  # the designer's prop for spiffworkflow:instructionsForEndUser
_HTTP_PARAMS = {"url", "method", "fields", "timeout", "onError"}


class OutsideSubset(ValidationFailed):
    """The BPMN uses something the simple designer cannot show; ``element_id`` says where."""

    def __init__(self, element_id: str | None, message: str) -> None:
        where = f"元素「{element_id}」：" if element_id else ""
        super().__init__(f"{where}{message}", errors={"element_id": element_id or ""})
        self.element_id = element_id
        self.reason = message


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _ns(el: etree._Element) -> str:
    return etree.QName(el).namespace if isinstance(el.tag, str) else ""


def _hardened() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _literal(text: str | None, element_id: str, what: str):
    try:
        return ast.literal_eval((text or "").strip())
    except (ValueError, SyntaxError) as exc:
        raise OutsideSubset(element_id, f"{what}「{text}」不是固定值（简易设计器只支持固定值）") from exc


def _properties(el: etree._Element) -> dict[str, str]:
    return {
        p.get("name"): p.get("value") or ""
        for p in el.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)
        if p.get("name")
    }


# ---------------------------------------------------------------------------------------------
# conditions


def _rule(node: ast.expr) -> dict | None:
    """One rule from an expression node, or None when it is not a rule the designer can edit."""
    if isinstance(node, ast.Name):
        return {"field": node.id, "op": "not_empty", "value": None}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Name):
        return {"field": node.operand.id, "op": "empty", "value": None}
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        return None
    left, op, right = node.left, type(node.ops[0]), node.comparators[0]
    try:
        if isinstance(left, ast.Name) and op in _COMPARE:
            value = ast.literal_eval(right)
            if isinstance(value, list | tuple | dict | set):
                return None
            return {"field": left.id, "op": _COMPARE[op], "value": value}
        if isinstance(left, ast.Name) and op in (ast.In, ast.NotIn):
            value = ast.literal_eval(right)
            if not isinstance(value, list | tuple):
                return None
            return {"field": left.id, "op": "in" if op is ast.In else "not_in", "value": list(value)}
        if isinstance(right, ast.Name) and op is ast.In:
            value = ast.literal_eval(left)
            if isinstance(value, list | tuple | dict | set):
                return None
            return {"field": right.id, "op": "contains", "value": value}
    except ValueError:
        return None
    return None


def condition_from_text(text: str) -> dict:
    """A branch condition: editable rules when the expression is one, else the expression itself."""
    text = (text or "").strip()
    try:
        body = ast.parse(text, mode="eval").body
    except SyntaxError:
        return {"expression": text}
    parts, match = [body], "all"
    if isinstance(body, ast.BoolOp):
        parts, match = body.values, "any" if isinstance(body.op, ast.Or) else "all"
    rules = [_rule(p) for p in parts]
    if all(r is not None for r in rules):
        condition = {"match": match, "rules": rules}
        for rule in rules:
            if rule["op"] in LIST_OPERATORS:
                rule["value"] = list(rule["value"])
        # Only when the rules say exactly what the text says (no parentheses or spacing lost).
        if rules_expression(condition) == text or _same_code(rules_expression(condition), text):
            return condition
    return {"expression": text}


def _same_code(a: str, b: str) -> bool:
    try:
        return ast.dump(ast.parse(a, mode="eval")) == ast.dump(ast.parse(b, mode="eval"))
    except SyntaxError:
        return False


_APPROVED = {"approved == True", "approved", "approved is True", "approved != False"}
_REJECTED = {"approved == False", "not approved", "approved is False", "approved != True"}


def _normal(text: str | None) -> str:
    try:
        return ast.unparse(ast.parse((text or "").strip(), mode="eval"))
    except SyntaxError:
        return (text or "").strip()


# ---------------------------------------------------------------------------------------------
# the walk


class _Reader:
    def __init__(self, root: etree._Element) -> None:
        self.root = root
        processes = root.findall(f"{{{BPMN}}}process")
        if not processes:
            raise OutsideSubset(None, "文件中没有流程（bpmn:process）")
        if len(processes) > 1:
            ids = "、".join(p.get("id") or "?" for p in processes)
            raise OutsideSubset(processes[1].get("id"), f"文件包含多个流程（{ids}），简易设计器只能编辑一个流程")
        self.process = processes[0]
        self.check_top_level()
        self.elements: dict[str, etree._Element] = {}
        self.flows: dict[str, etree._Element] = {}
        self.lanes: dict[str, str] = {}  # flow node id -> lane name (= role code)
        for el in self.process:
            name = _local(el)
            if not name or name in ("extensionElements", "documentation"):
                continue
            if name == "laneSet":
                self.read_lanes(el)
                continue
            if _ns(el) != BPMN:
                raise OutsideSubset(el.get("id"), "流程中含有非 BPMN 元素")
            if name == "sequenceFlow":
                self.flows[el.get("id")] = el
            elif name in TAG_NAMES or name not in _SUPPORTED:
                label = TAG_NAMES.get(name, name)
                raise OutsideSubset(el.get("id"), f"{label}{_OUTSIDE}，请在 BPMN 编辑器中修改")
            else:
                self.elements[el.get("id")] = el
        self.outgoing: dict[str, list[etree._Element]] = {}
        self.incoming: dict[str, list[etree._Element]] = {}
        for flow in self.flows.values():
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source not in self.elements or target not in self.elements:
                raise OutsideSubset(flow.get("id"), "顺序流连接的元素不存在")
            self.outgoing.setdefault(source, []).append(flow)
            self.incoming.setdefault(target, []).append(flow)
        for source, flows in self.outgoing.items():
            order = [o.text.strip() for o in self.elements[source].iterfind("bpmn:outgoing", NS) if o.text]
            if order:
                flows.sort(key=lambda f: order.index(f.get("id")) if f.get("id") in order else len(order))
        self.visited: set[str] = set()
        self.used_flows: set[str] = set()

    def read_lanes(self, lane_set: etree._Element) -> None:
        """Lanes stand for roles (their ``role`` property, else their name is the role code): a user task
        in a lane, without its own assignee, goes to that role."""
        for lane in lane_set.iter(f"{{{BPMN}}}lane"):
            role = (
                next(
                    (
                        (p.get("value") or "").strip()
                        for p in lane.iterfind(
                            "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS
                        )
                        if p.get("name") == "role"
                    ),
                    "",
                )
                or (lane.get("name") or "").strip()
            )
            for ref in lane.iterfind("bpmn:flowNodeRef", NS):
                if ref.text and role:
                    self.lanes[ref.text.strip()] = role

    def check_top_level(self) -> None:
        for el in self.root:
            name = _local(el)
            if not name or name in ("process", "documentation", "extensionElements"):
                continue
            if _ns(el) == BPMNDI and name == "BPMNDiagram":
                continue
            if name == "collaboration":
                for child in el:
                    if _local(child) not in ("participant", "documentation", "extensionElements", ""):
                        label = TAG_NAMES.get(_local(child), _local(child))
                        raise OutsideSubset(child.get("id"), f"协作图中的{label}{_OUTSIDE}")
                continue
            label = TAG_NAMES.get(name, name)
            raise OutsideSubset(el.get("id"), f"{label}不在简易设计器支持的范围内，请在 BPMN 编辑器中修改")

    def outs(self, el_id: str) -> list[etree._Element]:
        return self.outgoing.get(el_id, [])

    def ins(self, el_id: str) -> list[etree._Element]:
        return self.incoming.get(el_id, [])

    def visit(self, el_id: str) -> etree._Element:
        if el_id in self.visited:
            raise OutsideSubset(el_id, "此元素被多条路径汇入或处在回路中（不是成对的分支与汇合），简易设计器无法表示")
        self.visited.add(el_id)
        return self.elements[el_id]

    def single_out(self, el: etree._Element) -> etree._Element:
        outs = self.outs(el.get("id"))
        if len(outs) != 1:
            message = f"此元素有 {len(outs)} 条流出顺序流，简易设计器要求恰好一条（分支请用网关）"
            raise OutsideSubset(el.get("id"), message)
        if self._condition(outs[0]) is not None:
            raise OutsideSubset(outs[0].get("id"), "顺序流带有条件，但它的起点不是网关")
        if len(self.ins(el.get("id"))) > 1:
            raise OutsideSubset(el.get("id"), "此元素有多条流入顺序流，汇合请使用网关")
        return outs[0]

    @staticmethod
    def _condition(flow: etree._Element) -> str | None:
        cond = flow.find("bpmn:conditionExpression", NS)
        return None if cond is None else (cond.text or "").strip()

    def take(self, flow: etree._Element) -> etree._Element:
        self.used_flows.add(flow.get("id"))
        return self.elements[flow.get("targetRef")]

    # -- sequences ----------------------------------------------------------------------------
    def seq(self, flow: etree._Element) -> tuple[list[dict], etree._Element]:
        """Nodes from ``flow`` on, up to an end event or a join gateway (returned, not visited)."""
        nodes: list[dict] = []
        while True:
            el = self.take(flow)
            name, el_id = _local(el), el.get("id")
            if name == "endEvent" or (name in _BRANCH_TYPES and len(self.ins(el_id)) > 1):
                return nodes, el
            node, flow = self.node(self.visit(el_id))
            nodes.append(node)

    def node(self, el: etree._Element) -> tuple[dict, etree._Element]:
        name = _local(el)
        if name in _BRANCH_TYPES:
            return self.branches(el)
        self.check_extensions(el)
        if name == "userTask":
            return self.user_task(el)
        base = {"id": el.get("id"), "name": el.get("name") or ""}
        out = self.single_out(el)
        if name == "serviceTask":
            return self.service_task(el, base), out
        if name == "scriptTask":
            return self.script_task(el, base), out
        if name == "intermediateCatchEvent":
            return self.timer(el, base), out
        if name == "callActivity":
            if not el.get("calledElement"):
                raise OutsideSubset(el.get("id"), "调用活动未指定被调用的流程")
            return {**base, "type": "subprocess", "process": el.get("calledElement")}, out
        raise OutsideSubset(el.get("id"), f"{TAG_NAMES.get(name, '此类元素')}不在简易设计器支持的范围内")

    def check_extensions(self, el: etree._Element) -> None:
        allowed = {
            "userTask": {"properties", "instructionsForEndUser"},
            "serviceTask": {"serviceTaskOperator"},
        }.get(_local(el), set())
        for child in el:
            name = _local(child)
            if name in ("loopCharacteristics", "multiInstanceLoopCharacteristics", "standardLoopCharacteristics"):
                raise OutsideSubset(el.get("id"), "多实例 / 循环设置不在简易设计器支持的范围内（多人审批请用审批方式）")
            if name in ("ioSpecification", "dataInputAssociation", "dataOutputAssociation", "property"):
                raise OutsideSubset(el.get("id"), "数据输入输出设置不在简易设计器支持的范围内")
        for ext in el.iterfind("bpmn:extensionElements/*", NS):
            if _local(ext) not in allowed:
                raise OutsideSubset(el.get("id"), f"扩展设置 {_local(ext)} 不在简易设计器支持的范围内")

    # -- tasks --------------------------------------------------------------------------------
    def user_task(self, el: etree._Element) -> tuple[dict, etree._Element]:
        props = _properties(el)
        note = el.find("bpmn:extensionElements/spiffworkflow:instructionsForEndUser", NS)
        if note is not None and (note.text or "").strip():
            props[INSTRUCTIONS] = note.text.strip()  # 办理说明: a prop in the designer, its own element in BPMN
        if not props.get("assignee") and el.get("id") in self.lanes:
            props["assignee"] = f"role:{self.lanes[el.get('id')]}"
        kind = props.pop("kind", None)
        kind = kind if kind in ("approval", "task") else ("approval" if props.get("method") else "task")
        node = {"id": el.get("id"), "type": kind, "name": el.get("name") or "", "props": props}
        out = self.single_out(el)
        if kind == "approval":
            rejection = self.rejection(out)
            if rejection is not None:
                if props.get("rejectPolicy", "continue") != "continue":
                    raise OutsideSubset(el.get("id"), "节点同时设置了拒绝策略和拒绝分支，请只保留一种")
                props["rejectPolicy"] = "end"
                out = rejection
        return node, out

    def rejection(self, flow: etree._Element) -> etree._Element | None:
        """The continuing flow when ``flow`` leads into a rejection gateway (else None)."""
        gateway = self.elements[flow.get("targetRef")]
        gid = gateway.get("id")
        if _local(gateway) != "exclusiveGateway" or len(self.ins(gid)) != 1 or len(self.outs(gid)) != 2:
            return None
        default = gateway.get("default")
        for to_end in self.outs(gid):
            onward = next(f for f in self.outs(gid) if f is not to_end)
            end = self.elements[to_end.get("targetRef")]
            if _local(end) != "endEvent" or len(self.ins(end.get("id"))) != 1:
                continue
            end_cond, onward_cond = _normal(self._condition(to_end)), _normal(self._condition(onward))
            if (end_cond in _REJECTED and (default == onward.get("id") or onward_cond in _APPROVED)) or (
                default == to_end.get("id") and onward_cond in _APPROVED
            ):
                break
        else:
            return None
        self.used_flows.update({flow.get("id"), to_end.get("id")})
        self.visit(gid)
        self.visit(end.get("id"))
        return onward

    def service_task(self, el: etree._Element, base: dict) -> dict:
        op = el.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        if op is None:
            raise OutsideSubset(el.get("id"), "服务任务缺少 spiffworkflow:serviceTaskOperator")
        params = {
            p.get("id"): p.get("value")
            for p in op.iterfind("spiffworkflow:parameters/spiffworkflow:parameter", NS)
            if p.get("id")
        }
        operation, eid = op.get("id"), el.get("id")
        if operation == "inbox.cc":
            self.only(params, _CC_PARAMS, eid)
            users = _literal(params.get("users", "[]"), eid, "抄送人员")
            note = _literal(params.get("note", '""'), eid, "抄送说明")
            if not isinstance(users, list | tuple) or not all(isinstance(u, str) for u in users):
                raise OutsideSubset(eid, "抄送人员必须是登录名列表")
            return {**base, "type": "cc", "users": list(users), "note": str(note or "")}
        if operation == "http.call":
            self.only(params, _HTTP_PARAMS, eid)
            values = {k: _literal(v, eid, f"参数 {k}") for k, v in params.items()}
            return {
                **base,
                "type": "trigger",
                "mode": "http",
                "url": values.get("url") or "",
                "method": values.get("method") or "POST",
                "fields": list(values.get("fields") or []),
                "timeout": values.get("timeout") or 10,
                "result": op.get("resultVariable") or "",
                "onError": values.get("onError") or "fail",
            }
        what = names.service(operation)
        raise OutsideSubset(eid, f"服务任务的操作「{what}」不在简易设计器支持的范围内（支持抄送、调用外部接口）")

    @staticmethod
    def only(params: dict, allowed: set[str], eid: str) -> None:
        extra = sorted(set(params) - allowed)
        if extra:
            raise OutsideSubset(eid, f"服务任务参数 {'、'.join(extra)} 不在简易设计器支持的范围内")

    def script_task(self, el: etree._Element, base: dict) -> dict:
        text = el.findtext("bpmn:script", "", NS)
        try:
            module = ast.parse(text)
        except SyntaxError as exc:
            raise OutsideSubset(el.get("id"), f"脚本有语法错误：{exc.msg}") from exc
        assignments = []
        for stmt in module.body:
            ok = isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            try:
                value = ast.literal_eval(stmt.value) if ok else None
            except ValueError:
                ok = False
            if not ok or isinstance(value, dict | set | tuple):
                message = "脚本不只是“字段 = 固定值”的赋值，简易设计器无法编辑，请在 BPMN 编辑器中修改"
                raise OutsideSubset(el.get("id"), message)
            assignments.append({"field": stmt.targets[0].id, "value": value})
        return {**base, "type": "trigger", "mode": "update", "assignments": assignments}

    def timer(self, el: etree._Element, base: dict) -> dict:
        definitions = [c for c in el if _local(c).endswith("EventDefinition")]
        if len(definitions) != 1 or _local(definitions[0]) != "timerEventDefinition":
            raise OutsideSubset(el.get("id"), "只支持定时器类型的中间事件（延迟器）")
        timer = definitions[0]
        duration = timer.findtext("bpmn:timeDuration", None, NS)
        date = timer.findtext("bpmn:timeDate", None, NS)
        if duration is not None:
            value = _literal(duration, el.get("id"), "定时器时长")
            match = _DURATION.match(value) if isinstance(value, str) else None
            if match:
                if match.group(3):
                    return {**base, "type": "delay", "amount": int(match.group(3)), "unit": "days"}
                unit = "hours" if match.group(2) == "H" else "minutes"
                return {**base, "type": "delay", "amount": int(match.group(1)), "unit": unit}
        if date is not None:
            match = re.match(r"^\s*working_deadline\(\s*(\d+)\s*\)\s*$", date)
            if match:
                return {**base, "type": "delay", "amount": int(match.group(1)), "unit": "working_days"}
        message = '延迟器只支持 "PTnM"、"PTnH"、"PnD" 时长或 working_deadline(n) 工作日，其他写法请在 BPMN 编辑器中修改'
        raise OutsideSubset(el.get("id"), message)

    # -- branches -----------------------------------------------------------------------------
    def branches(self, split: etree._Element) -> tuple[dict, etree._Element]:
        sid, name = split.get("id"), _local(split)
        kind = _BRANCH_TYPES[name]
        outs = self.outs(sid)
        if len(outs) < 2 or len(self.ins(sid)) != 1:
            raise OutsideSubset(sid, "网关必须是一进多出的分支，或与分支成对的汇合")
        default = split.get("default")
        branches, join = [], None
        for flow in outs:
            condition = self._condition(flow)
            if kind == "parallel":
                if condition is not None:
                    raise OutsideSubset(flow.get("id"), "并行分支的顺序流不能带条件")
                cond = None
            elif flow.get("id") == default:
                cond = None
            elif condition is None:
                raise OutsideSubset(flow.get("id"), "此分支既没有条件，也不是默认分支（其他情况）")
            else:
                cond = condition_from_text(condition)
            nodes, end = self.seq(flow)
            if _local(end) != name:
                message = f"网关的分支没有在同类网关汇合（分支「{flow.get('id')}」到达了「{end.get('id')}」）"
                raise OutsideSubset(sid, message)
            if join is not None and end is not join:
                message = f"网关的各分支没有汇合到同一个网关（「{join.get('id')}」与「{end.get('id')}」）"
                raise OutsideSubset(sid, message)
            join = end
            branches.append({"id": flow.get("id"), "name": flow.get("name") or "", "condition": cond, "nodes": nodes})
        if len(self.ins(join.get("id"))) != len(outs):
            raise OutsideSubset(join.get("id"), "汇合网关的流入顺序流与分支数不一致")
        if kind != "parallel":
            defaults = [b for b in branches if b["condition"] is None]
            if len(defaults) != 1:
                raise OutsideSubset(sid, "条件分支必须有一个默认分支（其他情况）")
            branches = [b for b in branches if b["condition"] is not None] + defaults
        self.visit(join.get("id"))
        out = self.single_out_join(join)
        return {"id": sid, "type": kind, "name": split.get("name") or "", "branches": branches}, out

    def single_out_join(self, join: etree._Element) -> etree._Element:
        outs = self.outs(join.get("id"))
        if len(outs) != 1:
            raise OutsideSubset(join.get("id"), "汇合网关必须恰好有一条流出顺序流")
        if self._condition(outs[0]) is not None:
            raise OutsideSubset(outs[0].get("id"), "汇合之后的顺序流不能带条件")
        return outs[0]

    # -- the whole process --------------------------------------------------------------------
    def read(self) -> dict:
        starts = [e for e in self.elements.values() if _local(e) == "startEvent"]
        if len(starts) != 1:
            raise OutsideSubset(self.process.get("id"), f"流程必须恰好有一个开始事件（实际 {len(starts)} 个）")
        start = self.visit(starts[0].get("id"))
        if any(_local(c).endswith("EventDefinition") for c in start):
            raise OutsideSubset(start.get("id"), "开始事件带有事件定义（定时、消息等），简易设计器只支持普通开始")
        nodes, end = self.seq(self.single_out(start))
        if _local(end) != "endEvent":
            raise OutsideSubset(end.get("id"), "主线没有以结束事件结束")
        self.visit(end.get("id"))
        if any(_local(c).endswith("EventDefinition") for c in end):
            raise OutsideSubset(end.get("id"), "主线的结束事件带有事件定义，简易设计器只支持普通结束")
        for el_id in self.elements:
            if el_id not in self.visited:
                raise OutsideSubset(el_id, "此元素从开始事件无法按简易设计器的结构到达")
        for flow_id in self.flows:
            if flow_id not in self.used_flows:
                raise OutsideSubset(flow_id, "此顺序流不在简易设计器能表示的结构中")
        props = _properties(self.process)
        roles = [r.strip() for r in props.pop("startRoles", "").split(",") if r.strip()]
        form = props.pop("startForm", "")
        return {
            "process": {"id": self.process.get("id") or "", "name": self.process.get("name") or "", "props": props},
            "start": {"id": start.get("id"), "name": start.get("name") or "", "roles": roles, "form": form},
            "nodes": nodes,
            "end": {"id": end.get("id"), "name": end.get("name") or ""},
        }


_SUPPORTED = {
    "startEvent",
    "endEvent",
    "userTask",
    "serviceTask",
    "scriptTask",
    "intermediateCatchEvent",
    "callActivity",
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
}


def parse_bpmn(xml: str | bytes) -> dict:
    """The designer tree of a BPMN document, or ``OutsideSubset`` naming the first element it cannot show."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        root = etree.fromstring(data, _hardened())
    except etree.XMLSyntaxError as exc:
        raise OutsideSubset(None, f"不是有效的 XML（第 {exc.lineno or '?'} 行）：{exc.msg}") from exc
    if root.getroottree().docinfo.doctype:
        raise OutsideSubset(None, "不允许 DOCTYPE 声明")
    if _local(root) != "definitions" or _ns(root) != BPMN:
        raise OutsideSubset(None, "不是 BPMN 2.0 文件（根元素应为 bpmn:definitions）")
    return normalize(_Reader(root).read())
