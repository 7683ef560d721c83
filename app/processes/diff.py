"""Compare two versions: element by element over the BPMN XML, and line by line over every file.

The semantic diff reads what the runtime reads: each element's type, name, lane, attributes, the
``spiffworkflow:properties``, scripts, conditions, timer expressions, called decisions and service
operators. Diagram coordinates (BPMNDI) are ignored: moving a shape is not a change of the process.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

# fmt: off
_ELEMENTS = {
    "process", "participant", "lane", "messageFlow", "sequenceFlow", "dataObjectReference",
    "dataStoreReference", "textAnnotation", "message", "signal", "error", "escalation",
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
}
# fmt: on
TYPE_LABELS = {
    "process": "流程",
    "participant": "池",
    "lane": "泳道",
    "sequenceFlow": "顺序流",
    "messageFlow": "消息流",
    "task": "任务",
    "userTask": "用户任务",
    "manualTask": "人工任务",
    "scriptTask": "脚本任务",
    "serviceTask": "服务任务",
    "sendTask": "发送任务",
    "receiveTask": "接收任务",
    "businessRuleTask": "业务规则任务",
    "callActivity": "调用活动",
    "subProcess": "子流程",
    "startEvent": "开始事件",
    "endEvent": "结束事件",
    "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件",
    "boundaryEvent": "边界事件",
    "exclusiveGateway": "排他网关",
    "inclusiveGateway": "包容网关",
    "parallelGateway": "并行网关",
    "eventBasedGateway": "事件网关",
}
KEY_LABELS = {
    "type": "类型",
    "name": "名称",
    "lane": "泳道",
    "script": "脚本",
    "condition": "条件表达式",
    "timer": "定时器",
    "calledDecisionId": "调用的决策",
    "operator": "服务操作",
    "preScript": "前置脚本",
    "postScript": "后置脚本",
    "documentation": "说明",
    "event": "事件类型",
    "multiInstance": "多实例",
}


@dataclass
class Element:
    id: str
    type: str
    name: str | None
    values: dict[str, str] = field(default_factory=dict)

    @property
    def type_label(self) -> str:
        return TYPE_LABELS.get(self.type, self.type)


@dataclass
class Change:
    key: str
    label: str
    old: str | None
    new: str | None


@dataclass
class SemanticDiff:
    added: list[Element]
    removed: list[Element]
    changed: list[tuple[Element, list[Change]]]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _text(el) -> str | None:
    return (el.text or "").strip() if el is not None else None


def _describe(el: etree._Element, lanes: dict[str, str]) -> Element:
    values: dict[str, str] = {}
    for attr, value in sorted(el.attrib.items()):
        name = etree.QName(attr).localname
        if name not in ("id", "name"):
            values[f"@{name}"] = value
    if el.get("id") in lanes:
        values["lane"] = lanes[el.get("id")]
    for child in el:
        tag = _local(child)
        if tag == "script":
            values["script"] = _text(child) or ""
        elif tag == "conditionExpression":
            values["condition"] = _text(child) or ""
        elif tag == "documentation":
            values["documentation"] = _text(child) or ""
        elif tag.endswith("EventDefinition"):
            values["event"] = tag
            for timer in child:
                if _local(timer) in ("timeDate", "timeDuration", "timeCycle"):
                    values["timer"] = f"{_local(timer)}: {_text(timer)}"
            for attr in ("messageRef", "signalRef", "errorRef", "escalationRef"):
                if child.get(attr):
                    values[f"event.{attr}"] = child.get(attr)
        elif tag in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics"):
            parts = [f"{k}={v}" for k, v in sorted(child.attrib.items())]
            parts += [f"{_local(c)}={_text(c)}" for c in child if isinstance(c.tag, str)]
            values["multiInstance"] = "; ".join(parts)
        elif tag == "extensionElements":
            for ext in child:
                kind = _local(ext)
                if kind == "properties":
                    for prop in ext:
                        if _local(prop) == "property":
                            values[f"property:{prop.get('name')}"] = prop.get("value") or ""
                elif kind == "serviceTaskOperator":
                    values["operator"] = ext.get("id") or ""
                    if ext.get("resultVariable"):
                        values["operator.resultVariable"] = ext.get("resultVariable")
                    for param in ext.iter(f"{{{SPIFF_NS}}}parameter"):
                        values[f"operator.param:{param.get('id')}"] = param.get("value") or ""
                elif kind in ("calledDecisionId", "preScript", "postScript", "instructionsForEndUser"):
                    values[kind] = _text(ext) or ""
    return Element(el.get("id"), _local(el), el.get("name"), values)


def describe(text: str) -> dict[str, Element]:
    """The elements of a BPMN text by id, with what the runtime reads of each (no diagram data)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except (etree.XMLSyntaxError, ValueError):
        return {}
    lanes = {}
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
            lanes[(ref.text or "").strip()] = lane.get("name") or lane.get("id")
    out = {}
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith(f"{{{BPMN_NS}}}") and _local(el) in _ELEMENTS and el.get("id"):
            out[el.get("id")] = _describe(el, lanes)
    return out


def key_label(key: str) -> str:
    if key.startswith("property:"):
        return f"属性 {key[9:]}"
    if key.startswith("@"):
        return f"XML 属性 {key[1:]}"
    if key.startswith("operator.param:"):
        return f"服务参数 {key[15:]}"
    return KEY_LABELS.get(key, key)


def semantic_diff(old_text: str, new_text: str) -> SemanticDiff:
    old, new = describe(old_text), describe(new_text)
    added = [new[i] for i in new if i not in old]
    removed = [old[i] for i in old if i not in new]
    changed = []
    for element_id, before in old.items():
        after = new.get(element_id)
        if after is None:
            continue
        changes = []
        if before.type != after.type:
            changes.append(Change("type", key_label("type"), before.type_label, after.type_label))
        if (before.name or "") != (after.name or ""):
            changes.append(Change("name", key_label("name"), before.name, after.name))
        for key in sorted(set(before.values) | set(after.values)):
            if before.values.get(key) != after.values.get(key):
                changes.append(Change(key, key_label(key), before.values.get(key), after.values.get(key)))
        if changes:
            changed.append((after, changes))
    return SemanticDiff(added=added, removed=removed, changed=changed)


def text_diff(old: dict[str, str], new: dict[str, str]) -> str:
    """A unified diff of every file (git style headers, so diff2html shows one block per file)."""
    chunks = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        lines = difflib.unified_diff(
            (a or "").splitlines(keepends=True),
            (b or "").splitlines(keepends=True),
            fromfile=f"a/{name}" if a is not None else "/dev/null",
            tofile=f"b/{name}" if b is not None else "/dev/null",
            n=3,
        )
        body = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        if body:
            chunks.append(f"diff --git a/{name} b/{name}\n{body}")
    return "".join(chunks)


def all_files(sources) -> dict[str, str]:
    """Every file of a version's or workspace's sources, by name."""
    files = {sources.bpmn_filename: sources.bpmn}
    for group in (sources.extra_bpmn, sources.dmn, sources.forms):
        files.update(group)
    return files
