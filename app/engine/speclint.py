"""Static checks of BPMN/DMN documents that SpiffWorkflow's parser does not make.

Works on lxml trees only (no parsing into specs): every script, condition, timer expression and
DMN entry must compile in the restricted environment; references between elements must resolve;
forms and decisions named by tasks must exist; elements the engine cannot run are refused.
``specs.validate`` calls it; ``dmnlint`` does the same for decision tables. The second half turns
XSD and SpiffWorkflow parser errors into ``SpecProblem``s with an element id, a line and Chinese text.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from app.engine import messages
from app.engine.errors import Severity, SpecProblem
from app.engine.scripting import Mode, lint_script

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

# Unquoted ISO-8601 literals: a duration (P3D, PT72H), a cycle (R3/PT1H) or a date (2025-10-01...).
_ISO_LITERAL = re.compile(r"^(R\d*/\S+|P(?=[\d.,]*[YMWDTHS])[\dYMWDTHS.,]+|\d{4}-\d{2}-\d{2}\S*)$", re.I)

_UNSUPPORTED = {
    "complexGateway": "引擎不支持复杂网关（complexGateway），请改用排他、包容或并行网关",
    "compensateEventDefinition": "引擎不支持补偿事件（compensateEventDefinition）",
    "linkEventDefinition": "引擎不支持链接事件（linkEventDefinition），请直接连线",
}
_CONDITIONAL_SOURCES = {"exclusiveGateway", "inclusiveGateway"}
# fmt: off
_FLOW_NODE_TAGS = {
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
    "complexGateway",
}
_SELECTABLE = _FLOW_NODE_TAGS | {
    "sequenceFlow", "process", "lane", "participant", "collaboration", "dataStore", "dataObject",
    "dataObjectReference", "dataStoreReference", "message", "signal", "error", "escalation",
    "textAnnotation", "association", "messageFlow", "definitions",
}
# fmt: on
# fmt: off
_REF_ATTRS = (
    "sourceRef", "targetRef", "attachedToRef", "default", "messageRef", "signalRef", "errorRef",
    "escalationRef", "processRef",
)
# fmt: on
_FORM_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename")


def local(el: etree._Element) -> str:
    """The local tag name (``userTask``), or "" for comments and processing instructions."""
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def owner(el: etree._Element) -> etree._Element:
    """The element a modeler selects for ``el``: the nearest flow element, else anything with an id."""
    node: etree._Element | None = el
    fallback: etree._Element | None = None
    while node is not None:
        if node.get("id"):
            if local(node) in _SELECTABLE or not node.tag.startswith(f"{{{BPMN_NS}}}"):
                return node
            fallback = fallback if fallback is not None else node
        node = node.getparent()
    return fallback if fallback is not None else el


def executable_processes(root: etree._Element) -> list[etree._Element]:
    """``bpmn:process`` elements SpiffWorkflow treats as executable (a missing flag counts as true)."""
    return [p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable", "true") == "true"]


class _BpmnLinter:
    def __init__(
        self, file: str, root: etree._Element, forms: set[str], decisions: set[str], processes: set[str]
    ) -> None:
        self.file, self.root = file, root
        self.forms = forms | {f.rsplit("/", 1)[-1] for f in forms}
        self.decisions, self.processes = decisions, processes
        self.problems: list[SpecProblem] = []
        self.ids = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}

    def add(self, el: etree._Element, message: str, severity: Severity = "error", line: int | None = None) -> None:
        target = owner(el)
        self.problems.append(SpecProblem(self.file, target.get("id"), line or el.sourceline, message, severity))

    def run(self) -> list[SpecProblem]:
        self.check_references()
        self.check_definitions()
        for process in executable_processes(self.root):
            for el in process.iter():
                if isinstance(el.tag, str) and el.tag.startswith(f"{{{BPMN_NS}}}"):
                    self.check_element(el)
            for el in process.iterfind(".//spiffworkflow:*", NS):
                self.check_extension(el)
        return self.problems

    # -- references -------------------------------------------------------------------------
    def check_references(self) -> None:
        for el in self.root.iter():
            if not isinstance(el.tag, str) or not el.tag.startswith(f"{{{BPMN_NS}}}"):
                continue
            for attr in _REF_ATTRS:
                ref = el.get(attr)
                if ref and ref not in self.ids:
                    self.add(el, f"属性 {attr} 引用的元素「{ref}」不存在")
            if local(el) == "flowNodeRef" and el.text and el.text.strip() not in self.ids:
                self.add(el, f"泳道引用的元素「{el.text.strip()}」不存在")

    def check_definitions(self) -> None:
        """Root-level definitions SpiffWorkflow refuses with an English message and no element."""
        for el in self.root.iter(
            *(f"{{{BPMN_NS}}}{t}" for t in ("dataStore", "message", "signal", "error", "escalation"))
        ):
            what = {
                "dataStore": "数据存储",
                "message": "消息",
                "signal": "信号",
                "error": "错误",
                "escalation": "升级",
            }[local(el)]
            if not el.get("id"):
                self.add(el, f"{what}定义（bpmn:{local(el)}，第 {el.sourceline} 行）缺少 id：请补上 id 或删除它")
            elif local(el) == "dataStore" and not el.get("name"):
                self.add(
                    el,
                    f"数据存储「{el.get('id')}」缺少名称（name），引擎也没有它的实现：请删除数据存储及其数据关联，改用流程变量",
                )

    def check_gateway_flows(self, gateway: etree._Element) -> None:
        """Every outgoing flow of a splitting exclusive/inclusive gateway needs a condition or is the default."""
        flows = [f for f in self.root.iter(f"{{{BPMN_NS}}}sequenceFlow") if f.get("sourceRef") == gateway.get("id")]
        if len(flows) < 2:
            return
        label = gateway.get("name") or gateway.get("id")
        for flow in flows:
            if flow.get("id") != gateway.get("default") and flow.find(f"{{{BPMN_NS}}}conditionExpression") is None:
                self.add(
                    flow,
                    f"网关「{label}」的出口顺序流「{flow.get('name') or flow.get('id')}」没有条件，也不是默认流："
                    "请为它写条件（Python，如 approved == True），或在网关上把它设为默认流（default）",
                )

    # -- per element --------------------------------------------------------------------------
    def check_element(self, el: etree._Element) -> None:
        name = local(el)
        if name in _CONDITIONAL_SOURCES:
            self.check_gateway_flows(el)
        if name in _UNSUPPORTED:
            self.add(el, _UNSUPPORTED[name])
        if el.get("isForCompensation") == "true":
            self.add(el, "引擎不支持补偿活动（isForCompensation）")
        if name == "script" and el.getparent() is not None and local(el.getparent()) == "scriptTask":
            self.lint_code(el, "exec", "脚本")
        elif name == "conditionExpression":
            self.lint_code(el, "eval", "条件表达式")
            source = self.ids.get(el.getparent().get("sourceRef", ""))
            if source is not None and local(source) not in _CONDITIONAL_SOURCES:
                self.add(el, "只有排他网关和包容网关的出口条件会被计算，此条件将被忽略", "warning")
        elif name in ("timeDate", "timeDuration", "timeCycle"):
            self.lint_timer(el, name)
        elif name in ("loopCardinality", "completionCondition", "loopCondition", "condition"):
            self.lint_code(el, "eval", "表达式")
        elif name == "callActivity":
            called = el.get("calledElement")
            if not called:
                self.add(el, "调用活动未指定被调用的流程（calledElement）")
            elif called not in self.processes:
                self.add(el, f"调用活动引用的流程「{called}」不在本次部署中")
        elif name == "businessRuleTask":
            ref = el.findtext("bpmn:extensionElements/spiffworkflow:calledDecisionId", None, NS)
            if not ref or not ref.strip():
                self.add(el, "业务规则任务未指定决策（spiffworkflow:calledDecisionId）")
            elif ref.strip() not in self.decisions:
                self.add(el, f"业务规则任务引用的决策「{ref.strip()}」不存在于本次部署的 DMN 文件中")
        elif name == "userTask":
            self.check_forms(el)

    def check_forms(self, el: etree._Element) -> None:
        for prop in el.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
            if prop.get("name") in _FORM_PROPERTIES:
                value = (prop.get("value") or "").strip()
                if not value:
                    self.add(prop, f"属性 {prop.get('name')} 的值为空")
                elif value not in self.forms and value.rsplit("/", 1)[-1] not in self.forms:
                    self.add(prop, f"用户任务引用的表单文件「{value}」不存在")

    def check_extension(self, el: etree._Element) -> None:
        name = local(el)
        if name in ("preScript", "postScript"):
            self.lint_code(el, "exec", "前置脚本" if name == "preScript" else "后置脚本")
        elif name in ("messagePayload", "payloadExpression"):
            self.lint_code(el, "eval", "消息内容表达式")

    # -- code ---------------------------------------------------------------------------------
    def lint_code(self, el: etree._Element, mode: Mode, what: str) -> None:
        text = el.text or ""
        if mode == "eval" and not text.strip():
            self.add(el, f"{what}为空")
            return
        if re.match(r"\s*[$#]\{", text):
            self.add(el, f"{what}「{text.strip()}」是 JUEL 写法；本引擎的表达式是 Python，如 approved == True")
            return
        language = el.get("language") or ""
        hint = ""
        if language and "python" not in language.lower():
            hint = f"（表达式语言 {language} 不被支持，只能用 Python）"
        for line, message in lint_script(text, mode):
            self.add(el, f"{what}第 {line or 1} 行：{message}{hint}", line=_xml_line(el, text, line, mode))

    def lint_timer(self, el: etree._Element, kind: str) -> None:
        text = (el.text or "").strip()
        if not text:
            self.add(el, "定时器表达式为空")
            return
        if _ISO_LITERAL.match(text):
            self.add(el, f'定时器表达式是 Python 表达式，ISO-8601 字面量需加引号，如 "{text}"')
            return
        problems = lint_script(text, "eval")
        for _line, message in problems:
            self.add(el, f"定时器表达式：{message}")
        if problems:
            return
        node = ast.parse(text, mode="eval").body
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, str):
                self.add(el, "定时器表达式的值必须是 ISO-8601 字符串")
            elif (error := _check_iso(kind, node.value)) is not None:
                self.add(el, error)


def _check_iso(kind: str, value: str) -> str | None:
    try:
        if kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        elif kind == "timeCycle":
            TimerEventDefinition.parse_iso_recurring_interval(value)
        elif isinstance(TimerEventDefinition.parse_time_or_duration(value), dict):
            raise ValueError(value)
        return None
    except Exception:
        expected = {
            "timeDuration": '时长（如 "PT72H"、"P3D"）',
            "timeCycle": '循环（如 "R3/PT1H"）',
            "timeDate": '时间（如 "2025-10-01T09:00:00+08:00"）',
        }[kind]
        return f"定时器的值「{value}」不是合法的 ISO-8601 {expected}"


def _xml_line(el: etree._Element, text: str, line: int | None, mode: Mode) -> int | None:
    """Map a line of the code to a line of the XML file (text starts on the element's line)."""
    if el.sourceline is None:
        return None
    if mode == "eval":
        # Expressions are stripped before compiling: count the blank lines that were dropped.
        lead = len(text) - len(text.lstrip())
        return el.sourceline + text[:lead].count("\n") + (line or 1) - 1
    return el.sourceline + (line or 1) - 1


def lint_bpmn(
    file: str, root: etree._Element, forms: Iterable[str], decisions: Iterable[str], processes: Iterable[str]
) -> list[SpecProblem]:
    """Static problems of one BPMN document (its executable processes)."""
    return _BpmnLinter(file, root, set(forms), set(decisions), set(processes)).run()


def flow_nodes(process: etree._Element) -> Iterator[etree._Element]:
    """Flow nodes of a process, nested sub-processes included."""
    for el in process.iter():
        if isinstance(el.tag, str) and el.tag.startswith(f"{{{BPMN_NS}}}") and local(el) in _FLOW_NODE_TAGS:
            yield el


# ---------------------------------------------------------------------------------------------
# Locating and translating parser and schema errors


def id_at_line(root: etree._Element, line: int | None) -> str | None:
    """The id of the (selectable owner of the) first element starting on ``line``."""
    if line:
        for el in root.iter():
            if isinstance(el.tag, str) and el.sourceline == line:
                return el.get("id") or owner(el).get("id")
    return fallback_id(root)


def fallback_id(root: etree._Element) -> str | None:
    """An id to pin a problem on when nothing better is known: the first process, else the root."""
    first = next((p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id")), None)
    return first.get("id") if first is not None else root.get("id")


def line_of(root: etree._Element, element_id: str | None) -> int | None:
    """The XML line of the element with ``element_id`` (SpiffWorkflow errors carry no line)."""
    if not element_id:
        return None
    found = root.xpath("//*[@id=$i]", i=element_id)
    return found[0].sourceline if found else None


def xsd_problems(file: str, root: etree._Element, validator: BpmnValidator, what: str) -> list[SpecProblem]:
    """Every XSD violation (SpiffWorkflow's own check reports only the last one)."""
    schema = validator.validator
    if schema.validate(root):
        return []
    problems = []
    for err in schema.error_log:
        element_id = _id_at_path(root, getattr(err, "path", None)) or id_at_line(root, err.line)
        problems.append(SpecProblem(file, element_id, err.line, messages.schema_message(err.message, what)))
    return problems


def _id_at_path(root: etree._Element, path: str | None) -> str | None:
    """The id of the element libxml names by its XPath (better than the first element on a line)."""
    if not path:
        return None
    try:
        found = root.getroottree().xpath(path, namespaces={k: v for k, v in root.nsmap.items() if k})
    except etree.XPathError:
        return None
    if not found or not isinstance(found[0], etree._Element):
        return None
    return found[0].get("id") or owner(found[0]).get("id")


def problem_from_ve(file: str, root: etree._Element, ve: ValidationException) -> SpecProblem:
    """A SpiffWorkflow ``ValidationException`` as a problem with a Chinese message, an id and a line."""
    raw = ve.args[0] if ve.args else str(ve)
    message = messages.engine_message(str(raw))
    element_id = ve.id or guess_id(root, raw)
    line = ve.line_number if isinstance(ve.line_number, int) and ve.line_number > 0 else None
    return SpecProblem(ve.file_name or file, element_id, line or line_of(root, element_id), message)


def guess_id(root: etree._Element, raw: str) -> str | None:
    """Some SpiffWorkflow errors carry no element: find it from the message."""
    lookups = (
        (r"Data Store with name (.+?) has no implementation", "//bpmn:dataStore[@name=$v]"),
        (r"Data Store (name) is missing", "//bpmn:dataStore[not(@name)]"),
        (r"The process '(.+?)' was not found", "//bpmn:callActivity[@calledElement=$v]"),
    )
    for pattern, xpath in lookups:
        match = re.search(pattern, raw, re.DOTALL)
        if match:
            found = root.xpath(xpath, namespaces=NS, v=match.group(1))
            if found:
                return found[0].get("id")
    return fallback_id(root)
