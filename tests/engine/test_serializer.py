import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from app.engine import serializer
from app.engine.errors import EngineError
from app.engine.scripting import SHANGHAI, make_script_engine
from app.engine.specs import ProcessBundle, build


def _ready(wf: BpmnWorkflow):
    return wf.get_tasks(state=TaskState.READY, manual=True)


@pytest.fixture
def midway(bundle: ProcessBundle):
    """An instance waiting at the leader's approval (READY user task + WAITING boundary timer)."""
    spec, subprocess_specs = build(bundle)
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=make_script_engine())
    wf.do_engine_steps()
    [fill] = _ready(wf)
    fill.set_data(
        amount=Decimal("150000.50"),
        found_on=date(2025, 9, 30),
        source="hotline",
        reported_at=datetime(2025, 9, 30, 9, 15, tzinfo=SHANGHAI),
    )
    fill.run()
    wf.do_engine_steps()
    return wf, spec, subprocess_specs


def test_round_trip_midway_and_continue(midway) -> None:
    wf, spec, subprocess_specs = midway
    [approve] = _ready(wf)
    assert approve.task_spec.name == "approve"
    timer = wf.get_next_task(state=TaskState.WAITING, spec_name="approve_timeout")
    due = timer.task_spec.event_definition.details(timer).value

    doc = serializer.dump(wf)
    assert "spec" not in doc and "subprocess_specs" not in doc
    text = json.dumps(doc)  # a plain JSON-safe dict, no custom encoder needed
    restored = serializer.load(json.loads(text), spec, subprocess_specs)

    [approve2] = _ready(restored)
    assert approve2.id == approve.id
    data = approve2.data
    assert data["amount"] == Decimal("150000.50") and isinstance(data["amount"], Decimal)
    assert data["found_on"] == date(2025, 9, 30) and type(data["found_on"]) is date
    assert data["due_on"] == date(2025, 10, 11)
    assert data["reported_at"] == datetime(2025, 9, 30, 9, 15, tzinfo=SHANGHAI)
    assert getattr(data["reported_at"].tzinfo, "key", None) == "Asia/Shanghai"
    timer2 = restored.get_next_task(state=TaskState.WAITING, spec_name="approve_timeout")
    assert timer2.task_spec.event_definition.details(timer2).value == due
    assert restored.spec is spec  # the cached spec object is re-attached, not a copy

    approve2.set_data(opinion="同意")
    approve2.run()
    restored.do_engine_steps()
    assert restored.completed
    assert restored.get_next_task(spec_name="end_approved", state=TaskState.COMPLETED) is not None
    assert not restored.get_tasks(state=TaskState.WAITING)


def test_dumps_loads_and_document_untouched(midway) -> None:
    wf, spec, subprocess_specs = midway
    text = serializer.dumps(wf)
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]))
    full = BpmnWorkflowSerializer(registry).serialize_json(wf)
    assert len(text) < len(full) / 1.5
    doc = json.loads(text)
    before = json.dumps(doc, sort_keys=True)
    first = serializer.load(doc, spec, subprocess_specs)
    second = serializer.loads(text, spec, subprocess_specs)
    assert json.dumps(doc, sort_keys=True) == before  # load does not consume its input
    assert serializer.dumps(first) == serializer.dumps(second) == text


def test_loaded_workflow_uses_restricted_engine(midway) -> None:
    wf, spec, subprocess_specs = midway
    restored = serializer.loads(serializer.dumps(wf), spec, subprocess_specs)
    assert type(restored.script_engine).__name__ == "RestrictedScriptEngine"


def test_unknown_version_is_refused(midway) -> None:
    wf, spec, subprocess_specs = midway
    doc = serializer.dump(wf)
    doc[serializer.VERSION_KEY] = "0.1"
    with pytest.raises(EngineError, match="无法迁移"):
        serializer.load(doc, spec, subprocess_specs)
