"""The BPMN MIWG reference files: each validates or yields problems naming an element, never a crash.

Every test reading ../shared/interop takes the ``miwg`` fixture (tests/conftest.py), which skips with the
reason printed when the folder is missing.
"""

import re
from pathlib import Path

from app.engine import messages
from app.engine.errors import SpecProblem
from app.engine.specs import ProcessBundle, validate

# The English words SpiffWorkflow and libxml use; none may reach a person untranslated.
ENGLISH = re.compile(
    r"Non-default exclusive|identifier is missing|name is missing|has no implementation|This element is not expected"
    r"|is not a valid value|is required but missing|not allowed|No start event|not supported|Expected an?"
)


def _check(bundle: ProcessBundle) -> list[SpecProblem]:
    problems = validate(bundle)
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        assert problem.element_id, problem
        assert re.search(r"[\u4e00-\u9fff]", problem.message[:20]), problem
        assert not ENGLISH.search(problem.message.split("原文：")[0]), problem
    return errors


def test_every_miwg_file(miwg: list[Path]) -> None:
    for path in miwg:
        _check(ProcessBundle(bpmn={path.name: path.read_bytes()}))


def test_every_miwg_file_made_executable(miwg: list[Path]) -> None:
    """With isExecutable="true" the engine's own parser runs on every process: its messages are Chinese too."""
    flows = []
    for path in miwg:
        data = path.read_bytes().replace(b'isExecutable="false"', b'isExecutable="true"')
        errors = _check(ProcessBundle(bpmn={path.name: data}))
        flows += [p for p in errors if "没有条件，也不是默认流" in p.message]
    # A.2.0's split gateway has three outgoing flows without conditions: each is named with the fix.
    assert any(p.element_id == "_f1478fb7-98c4-4c01-8c15-68bd04c91535" and "默认流" in p.message for p in flows)


def test_miwg_c9_as_one_bundle(miwg: list[Path]) -> None:
    files = [p for p in miwg if p.name.startswith("C.9.")]
    errors = _check(ProcessBundle(bpmn={p.name: p.read_bytes() for p in files}))
    assert not any("不在本次部署中" in p.message for p in errors)  # call activities resolve together


def _process(body: str, defs: str = "") -> bytes:
    return (
        '<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
        f'targetNamespace="x">{defs}\n<bpmn:process id="p" isExecutable="true">\n{body}\n</bpmn:process>'
        "</bpmn:definitions>"
    ).encode()


START_END = (
    '<bpmn:startEvent id="s"/>\n<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="e"/>\n<bpmn:endEvent id="e"/>'
)


def test_data_store_without_name_or_id_is_named_in_chinese() -> None:
    problems = validate(
        ProcessBundle(bpmn={"a.bpmn": _process(START_END, '<bpmn:dataStore id="ds"/>\n<bpmn:message name="m"/>')})
    )
    by_id = {p.element_id: p.message for p in problems}
    assert "缺少名称（name）" in by_id["ds"] and "改用流程变量" in by_id["ds"]
    assert any("消息定义" in p.message and "缺少 id" in p.message for p in problems)
    assert not any(ENGLISH.search(p.message) for p in problems), problems


def test_schema_details_are_translated_with_the_element() -> None:
    body = START_END.replace('<bpmn:endEvent id="e"/>', '<bpmn:endEvent id="e" foo="1"/>')
    body += '\n<bpmn:exclusiveGateway id="g" gatewayDirection="Sideways"/>\n<bpmn:task id="t">hello</bpmn:task>'
    problems = validate(ProcessBundle(bpmn={"a.bpmn": _process(body)}))
    by_id = {p.element_id: p.message for p in problems}
    assert "元素 bpmn:endEvent 不允许有属性 foo" in by_id["e"]
    assert "「Sideways」不在允许的取值中" in by_id["g"]
    assert "不允许直接包含文字" in by_id["t"]
    assert not any(ENGLISH.search(p.message) for p in problems), problems


def test_unknown_engine_and_schema_messages_keep_the_original_after_chinese() -> None:
    assert messages.engine_message("Something new").startswith("引擎无法解析此元素")
    assert "引擎原文：Something new" in messages.engine_message("Something new")
    assert messages.schema_message("Element 'x': odd.").startswith("不符合 BPMN 2.0 XML 架构，请按规范修改")


def test_namespace_prefixed_references_resolve() -> None:
    data = (Path(__file__).parents[1] / "data" / "interop" / "prefixed_refs.bpmn").read_bytes()
    problems = validate(ProcessBundle(bpmn={"prefixed_refs.bpmn": data}))
    assert not any("不存在" in p.message or "bpmn2:" in p.message for p in problems), problems
