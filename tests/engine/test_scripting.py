from datetime import date, datetime

import pytest
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from app.engine import scripting
from app.engine.errors import ScriptError
from app.engine.scripting import RestrictedEnvironment, lint_script, make_script_engine, register_helper

REFUSED = {
    "import os": "import",
    "from os import path": "import",
    "import os as o": "import",
    "open('/etc/passwd').read()": "open()",
    "x = ().__class__.__bases__[0].__subclasses__()": "__class__",
    "x = [c for c in ().__class__.__mro__]": "__class__",
    "exec('import os')": "exec",
    "eval('1')": "eval",
    "getattr((), '__class__')": "getattr()",
    "__import__('os')": "__import__",
    "x = (lambda: 0).__globals__": "__globals__",
    "g = (i for i in []).gi_frame": "gi_frame",
    "class A:\n    pass": "类",
}


@pytest.mark.parametrize("source", REFUSED)
def test_refusals_are_reported_at_compile_time(source: str) -> None:
    problems = lint_script(source)
    assert problems, source
    assert problems[0][0] == 1
    assert REFUSED[source] in " ".join(m for _, m in problems)
    with pytest.raises(ScriptError) as info:
        RestrictedEnvironment().execute(source, {})
    assert info.value.line == 1


def test_str_format_is_refused_at_run_time() -> None:
    with pytest.raises(NotImplementedError):
        RestrictedEnvironment().execute("x = '{0.__class__}'.format(1)", {})


def test_syntax_error_has_line_and_chinese_message() -> None:
    source = "a = 1\nb = (a +\nc = 3\n"
    assert lint_script(source) == [(2, "语法错误：括号「(」没有闭合")]
    with pytest.raises(ScriptError) as info:
        scripting.compile_script(source)
    assert info.value.line == 2
    assert "第 2 行" in str(info.value)


def test_eval_mode_and_indented_xml_text() -> None:
    assert lint_script("\n    amount >= 100\n  ", "eval") == []
    assert lint_script("    x = 1\n    y = x + 1\n") == []  # dedented like XML-embedded scripts
    assert lint_script("x = 1", "eval")[0][0] == 1


def test_helpers_in_a_script() -> None:
    data = {"found_on": date(2025, 9, 30), "items": [{"amount": 2}, {"amount": 3}]}
    RestrictedEnvironment().execute(
        "due_on = add_working_days(found_on, 3)\n"
        "span = working_days_between(found_on, '2025-10-13')\n"
        "as_text = add_working_days('2025-09-30', 1)\n"
        "total = sum(i['amount'] for i in items)\n"
        "for row in items:\n"
        "    row['seen'] = True\n"
        "del row\n"
        "stamp = now()\n"
        "day = today()\n",
        data,
    )
    assert data["due_on"] == date(2025, 10, 11)
    assert data["span"] == 4
    assert data["as_text"] == "2025-10-09"
    assert data["total"] == 5
    assert all(item["seen"] for item in data["items"])
    assert data["stamp"].utcoffset().total_seconds() == 8 * 3600
    assert isinstance(data["day"], date)
    # Guards, builtins and helpers never leak into task data; the deleted loop variable is gone.
    assert not {"__builtins__", "_getattr_", "row", "now"} & set(data)


def test_temporaries_leak_unless_deleted() -> None:
    data: dict = {}
    RestrictedEnvironment().execute("for i in range(3):\n    pass", data)
    assert data == {"i": 2}


def test_task_data_cannot_replace_guards() -> None:
    env = RestrictedEnvironment()
    assert env.evaluate("len(x)", {"x": [1, 2], "_getattr_": "bogus", "__builtins__": {}}) == 2
    with pytest.raises(ScriptError, match="保留名称"):
        env.execute("y = 1", {"_getattr_": "bogus"})


def test_task_data_may_shadow_helpers() -> None:
    env = RestrictedEnvironment()
    assert env.evaluate("date", {"date": "2025-10-01"}) == "2025-10-01"
    assert env.evaluate("date(2025, 10, 1)", {}) == date(2025, 10, 1)


def test_working_deadline_is_a_valid_time_date() -> None:
    value = RestrictedEnvironment().evaluate("working_deadline(3)", {})
    parsed = TimerEventDefinition.get_datetime(value)
    assert parsed > datetime.now(parsed.tzinfo)
    assert value.endswith("+08:00")


def test_register_helper() -> None:
    register_helper("double_it", lambda n: n * 2)
    try:
        assert RestrictedEnvironment().evaluate("double_it(21)", {}) == 42
        assert "double_it" in scripting.helper_names()
    finally:
        scripting._HELPERS.pop("double_it")
        scripting._BUILTINS.pop("double_it")
    for bad in ("_private", "len", "not a name"):
        with pytest.raises(ValueError):
            register_helper(bad, len)


SCRIPT_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="script" />
    <bpmn:scriptTask id="script"><bpmn:script>x = 1
import os</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="e" /><bpmn:endEvent id="e" />
  </bpmn:process>
</bpmn:definitions>"""


def test_workflow_refuses_unlinted_script_with_line_number() -> None:
    # Defence in depth: even a spec that skipped deploy-time lint cannot run a refused script.
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(etree.fromstring(SCRIPT_PROCESS.encode()), "p.bpmn")
    wf = BpmnWorkflow(parser.get_spec("p"), script_engine=make_script_engine())
    with pytest.raises(WorkflowTaskException) as info:
        wf.do_engine_steps()
    assert info.value.line_number == 2
    assert "import" in str(info.value)


def test_workflow_refuses_unlinted_condition_in_chinese() -> None:
    source = SCRIPT_PROCESS.replace("<bpmn:script>x = 1\nimport os</bpmn:script>", "<bpmn:script>x = 1</bpmn:script>")
    source = source.replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="e" /><bpmn:endEvent id="e" />',
        '<bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="g" />'
        '<bpmn:exclusiveGateway id="g" default="f4" />'
        '<bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="e">'
        "<bpmn:conditionExpression>().__class__ is None</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="f4" sourceRef="g" targetRef="e" /><bpmn:endEvent id="e" />',
    )
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(etree.fromstring(source.encode()), "p.bpmn")
    wf = BpmnWorkflow(parser.get_spec("p"), script_engine=make_script_engine())
    with pytest.raises(WorkflowTaskException, match="__class__"):
        wf.do_engine_steps()
