import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.engine.errors import EngineError, SpecInvalid, SpecProblem
from app.engine.scripting import make_script_engine
from app.engine.specs import (
    ProcessBundle,
    SpecCache,
    build,
    evaluate_decision,
    executable_process_ids,
    user_task_info,
    validate,
)

from .conftest import DATA


def _start(bundle: ProcessBundle) -> BpmnWorkflow:
    spec, subprocess_specs = build(bundle)
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=make_script_engine())
    wf.do_engine_steps()
    return wf


def _complete(wf: BpmnWorkflow, name: str, **form) -> None:
    [task] = wf.get_tasks(state=TaskState.READY, manual=True)
    assert task.task_spec.name == name
    task.set_data(**form)
    task.run()
    wf.do_engine_steps()


def _errors(problems: list[SpecProblem]) -> list[SpecProblem]:
    return [p for p in problems if p.severity == "error"]


def _only_error(problems: list[SpecProblem]) -> SpecProblem:
    errors = _errors(problems)
    assert len(errors) == 1, errors
    return errors[0]


# --- the sample process ------------------------------------------------------------------------


def test_sample_validates_clean(bundle: ProcessBundle) -> None:
    assert validate(bundle) == []
    assert executable_process_ids(bundle) == ["clue_verify"]


def test_major_clue_runs_through_approval(bundle: ProcessBundle) -> None:
    wf = _start(bundle)
    _complete(wf, "fill", amount=250000, source="hotline", found_on="2025-09-30")
    assert wf.get_tasks(state=TaskState.READY, manual=True)[0].data["level"] == "A"
    _complete(wf, "approve", opinion="同意")
    assert wf.completed
    assert wf.last_task.data["due_on"] == "2025-10-11"  # ISO string in, ISO string out
    assert wf.last_task.data["level_label"] == "重大"


def test_minor_clue_goes_to_archive(bundle: ProcessBundle) -> None:
    wf = _start(bundle)
    _complete(wf, "fill", amount=800, source="patrol", found_on="2025-09-30")
    _complete(wf, "archive")
    assert wf.completed
    assert wf.last_task.data["level"] == "C"


def test_boundary_timer_escalates(bundle: ProcessBundle) -> None:
    wf = _start(bundle)
    _complete(wf, "fill", amount=250000, source="mail", found_on="2025-09-30")
    timer = wf.get_next_task(state=TaskState.WAITING, spec_name="approve_timeout")
    due = datetime.fromisoformat(timer.task_spec.event_definition.details(timer).value)
    assert timedelta(hours=71) < due - datetime.now(UTC) <= timedelta(hours=72)
    with time_machine.travel(due + timedelta(minutes=1)):
        wf.refresh_timers()
        wf.do_engine_steps()
    assert wf.completed
    assert wf.last_task.data.get("escalated") is True
    assert "opinion" not in wf.last_task.data


def test_user_task_info_reads_lanes_and_properties(bundle: ProcessBundle) -> None:
    spec, subprocess_specs = build(bundle)
    info = user_task_info(spec, subprocess_specs)
    assert set(info) == {"fill", "approve", "archive"}
    assert info["fill"]["lane"] == "inspector"
    assert info["fill"]["form"] == "clue_fill.schema.json"
    assert info["fill"]["ui_form"] == "clue_fill.uischema.json"
    assert info["approve"]["lane"] == "leader"
    assert info["approve"]["name"] == "领导审批"
    assert info["approve"]["properties"]["dueWorkingDays"] == "3"
    assert info["archive"]["kind"] == "ManualTask" and info["archive"]["form"] is None


def test_build_unknown_process_id(bundle: ProcessBundle) -> None:
    with pytest.raises(SpecInvalid) as info:
        build(bundle, "no_such_process")
    assert info.value.problems[0].element_id == "no_such_process"


# --- refusals ----------------------------------------------------------------------------------


def test_malformed_xml_reports_line(make_bundle) -> None:
    bundle = make_bundle({'<bpmn:userTask id="approve" name="领导审批">': '<bpmn:userTask id="approve">\n<oops>'})
    problem = _only_error(validate(bundle))
    assert problem.file == "clue_verify.bpmn"
    assert problem.line is not None and problem.line > 60
    assert "XML 格式错误" in problem.message
    with pytest.raises(SpecInvalid):
        build(bundle)


def test_doctype_is_refused(make_bundle) -> None:
    xxe = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><d>&e;</d>'
    bundle = make_bundle()
    bundle.bpmn["evil.bpmn"] = xxe.encode()
    assert "DOCTYPE" in _only_error(validate(bundle)).message


def test_unknown_element_reference(make_bundle) -> None:
    bundle = make_bundle({'sourceRef="gw_level" targetRef="approve"': 'sourceRef="gw_level" targetRef="nowhere"'})
    problem = _only_error(validate(bundle))
    assert problem.element_id == "f_gw_approve"
    assert problem.message == "属性 targetRef 引用的元素「nowhere」不存在"
    assert problem.line is not None


def test_script_syntax_error_names_element_and_line(make_bundle) -> None:
    bundle = make_bundle({'level_label = "重大" if level == "A" else "一般"': 'level_label = ("重大"'})
    problem = _only_error(validate(bundle))
    assert problem.element_id == "prepare"
    assert "脚本第 2 行" in problem.message and "括号" in problem.message
    source = (DATA / "clue_verify.bpmn").read_text(encoding="utf-8").splitlines()
    assert "level_label" in source[problem.line - 1]


def test_script_import_is_refused(make_bundle) -> None:
    bundle = make_bundle({"escalated = True": "import os\nescalated = True"})
    problem = _only_error(validate(bundle))
    assert problem.element_id == "escalate" and "import" in problem.message


def test_unquoted_timer(make_bundle) -> None:
    problem = _only_error(validate(make_bundle({'"PT72H"': "PT72H"})))
    assert problem.element_id == "approve_timeout"
    assert problem.message == '定时器表达式是 Python 表达式，ISO-8601 字面量需加引号，如 "PT72H"'


def test_invalid_quoted_timer_literal(make_bundle) -> None:
    problem = _only_error(validate(make_bundle({'"PT72H"': '"PT72"'})))
    assert problem.element_id == "approve_timeout" and "不是合法的 ISO-8601" in problem.message


def test_timer_helper_expression_is_accepted(make_bundle) -> None:
    duration = (
        '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"PT72H"</bpmn:timeDuration>'
    )
    bundle = make_bundle({duration: "<bpmn:timeDate>working_deadline(3)</bpmn:timeDate>"})
    assert validate(bundle) == []
    wf = _start(bundle)
    _complete(wf, "fill", amount=250000, source="mail", found_on="2025-09-30")
    timer = wf.get_next_task(state=TaskState.WAITING, spec_name="approve_timeout")
    assert timer.task_spec.event_definition.details(timer).value.endswith("+08:00")


def test_missing_form_file(make_bundle) -> None:
    problem = _only_error(validate(make_bundle(forms={"clue_fill.schema.json", "clue_fill.uischema.json"})))
    assert problem.element_id == "approve"
    assert "clue_approve.schema.json" in problem.message


def test_missing_decision(make_bundle) -> None:
    bundle = make_bundle({">clue_grade</spiffworkflow:calledDecisionId>": ">grading</spiffworkflow:calledDecisionId>"})
    problem = _only_error(validate(bundle))
    assert problem.element_id == "grade" and "grading" in problem.message


def test_unsupported_element(make_bundle) -> None:
    bundle = make_bundle(
        {
            '<bpmn:exclusiveGateway id="gw_level"': '<bpmn:complexGateway id="gw_level"',
            "</bpmn:exclusiveGateway>": "</bpmn:complexGateway>",
        }
    )
    errors = _errors(validate(bundle))
    assert [p.element_id for p in errors] == ["gw_level"]
    assert "复杂网关" in errors[0].message


def test_bad_condition(make_bundle) -> None:
    problem = _only_error(validate(make_bundle({'>level == "A"</': '>level = "A"</'})))
    assert problem.element_id == "f_gw_approve" and "条件表达式" in problem.message


def test_dmn_overlapping_rules(make_bundle) -> None:
    bundle = make_bundle(dmn_replace={'<text>"patrol"</text>': "<text>-</text>"})
    problem = _only_error(validate(bundle))
    assert problem.file == "clue_grade.dmn"
    assert problem.element_id == "Rule_other"
    assert "UNIQUE" in problem.message and "第 2 条" in problem.message


def test_dmn_identical_rules_and_first_policy(make_bundle) -> None:
    same = make_bundle(
        dmn_replace={
            "<text>&gt;= 100000</text>": "<text>&lt; 100000</text>",
            "<text>-</text>": '<text>"mail"</text>',
        }
    )
    assert _only_error(validate(same)).element_id == "Rule_hotline"
    first = make_bundle(
        dmn_replace={'hitPolicy="UNIQUE"': 'hitPolicy="FIRST"', '<text>"patrol"</text>': "<text>-</text>"}
    )
    assert validate(first) == []


def test_dmn_bad_entry(make_bundle) -> None:
    bundle = make_bundle(dmn_replace={'<text>? in ("hotline", "mail")</text>': '<text>in ("hotline")</text>'})
    problem = _only_error(validate(bundle))
    assert problem.element_id == "UnaryTests_hot_source" and "? in" in problem.message


# --- decisions and cache -----------------------------------------------------------------------

COLLECT_DMN = (DATA / "review_flags.dmn").read_bytes()


def test_evaluate_decision_standalone() -> None:
    dmn = (DATA / "clue_grade.dmn").read_bytes()
    assert evaluate_decision(dmn, "clue_grade", {"amount": 120000, "source": "x"}) == {"level": "A"}
    assert evaluate_decision(dmn, "clue_grade", {"amount": 5, "source": "mail"}) == {"level": "B"}
    assert evaluate_decision(dmn, "clue_grade", {"amount": 5, "source": "nobody"}) == {}
    assert evaluate_decision(COLLECT_DMN, "review_flags", {"score": 90}) == {"flag": ["high", "urgent"]}
    with pytest.raises(EngineError, match="找不到决策"):
        evaluate_decision(dmn, "nope", {})
    with pytest.raises(EngineError, match="计算失败"):
        evaluate_decision(dmn, "clue_grade", {"source": "mail"})  # amount missing


def test_spec_cache_builds_once_and_is_bounded(bundle: ProcessBundle) -> None:
    cache = SpecCache(maxsize=2)
    calls = []

    def loader():
        calls.append(1)
        return build(bundle)

    key = bundle.version_hash()
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_build("clue_verify", key, loader)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(r) for r in results}) == 1  # every caller got the same stored specs
    assert cache.get_or_build("clue_verify", key, loader) is results[0]
    cache.put("other", "1", results[0])
    cache.put("other", "2", results[0])
    assert len(cache) == 2 and cache.get("clue_verify", key) is None
