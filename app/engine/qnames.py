"""Namespace-prefixed references in BPMN files written by other modelers.

The BPMN schema types many references as ``xsd:QName`` (``processRef``, ``bpmnElement``,
``attachedToRef``, ``<incoming>``, ...), so some tools write them with a prefix:
``bpmnElement="bpmn2:_12"`` for the element whose id is ``_12``. SpiffWorkflow, the linter and
bpmn-js compare references with ids literally and would see nothing drawn, dangling flows and an
empty canvas. ``resolve_refs`` rewrites such a reference to the bare id, in place, when the prefix
is declared on the element and the bare id exists (and the prefixed text is not itself an id), so
nothing else can change meaning. Ids and names, expressions and ``xsi:type`` are never touched.
"""

from __future__ import annotations

import re

from lxml import etree

_PREFIXED = re.compile(r"^([A-Za-z_][\w.\-]*):([^\s:]+)$")
# Attributes holding one reference (QName or IDREF); other attributes are never rewritten.
# fmt: off
_REF_ATTRS = frozenset({
    "processRef", "bpmnElement", "attachedToRef", "sourceRef", "targetRef", "default", "messageRef",
    "signalRef", "errorRef", "escalationRef", "calledElement", "dataStoreRef", "dataObjectRef",
    "operationRef", "sourceElement", "targetElement", "labelStyle", "categoryValueRef",
    "calledCollaborationRef", "participantRef", "itemSubjectRef", "inMessageRef", "outMessageRef",
})
# Elements whose text is a reference.
_REF_TEXTS = frozenset({
    "incoming", "outgoing", "flowNodeRef", "sourceRef", "targetRef", "dataInputRefs", "dataOutputRefs",
    "participantRef", "messageFlowRef", "correlationPropertyRef", "eventDefinitionRef", "supportedInterfaceRef",
    "inputSetRefs", "outputSetRefs", "loopDataInputRef", "loopDataOutputRef", "innerParticipantRef",
    "outerParticipantRef", "interfaceRef", "endPointRef", "resourceRef", "categoryValueRef",
})
# fmt: on


def _resolved(el: etree._Element, value: str | None, ids: set[str]) -> str | None:
    if not value or value in ids:
        return None
    match = _PREFIXED.match(value.strip())
    if match is None or match.group(2) not in ids:
        return None
    if match.group(1) not in (el.nsmap or {}):
        return None
    return match.group(2)


def resolve_refs(root: etree._Element) -> list[str]:
    """Rewrite prefixed references to bare ids in place; return the references rewritten."""
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    if not ids:
        return []
    changed: list[str] = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in _REF_ATTRS.intersection(el.attrib):
            bare = _resolved(el, el.get(attr), ids)
            if bare is not None:
                changed.append(el.get(attr))
                el.set(attr, bare)
        if el.text and len(el) == 0 and etree.QName(el).localname in _REF_TEXTS:
            bare = _resolved(el, el.text, ids)
            if bare is not None:
                changed.append(el.text.strip())
                el.text = bare
    return changed
