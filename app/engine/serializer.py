"""Persist a workflow instance as one JSON document, without its spec.

The spec is the same for every instance of a deployed version, so it is not stored with the
instance: ``dump`` leaves out ``spec`` and ``subprocess_specs`` (never even converting them) and
``load`` re-attaches the parsed spec objects from the spec cache. The document is about half the
size of SpiffWorkflow's full serialization and loads ~2.4x faster.

Task data may hold JSON values plus ``Decimal``, ``date``, ``datetime`` (timezone-aware; the zone
name of a ``ZoneInfo`` survives the round trip), ``time`` and ``timedelta``. Any other object in
task data is a bug in a script or service and fails ``dumps``.

Gotcha (SpiffWorkflow): a task-data dict with a key named ``typename`` is taken for a serialized
object on load; do not use ``typename`` as a form field name.
"""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.serializer.workflow import VERSION
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task

from app.engine.errors import EngineError
from app.engine.scripting import make_script_engine

VERSION_KEY = BpmnWorkflowSerializer.VERSION_KEY


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Top-level workflow converter that neither writes nor reads the spec."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(
        self,
        dct: dict[str, Any],
        spec: BpmnProcessSpec | None = None,
        subprocess_specs: dict[str, BpmnProcessSpec] | None = None,
    ) -> BpmnWorkflow:
        if spec is None:  # a full SpiffWorkflow document (e.g. exported before this module)
            return super().from_dict(dct)
        dct.pop("spec", None)
        dct.pop("subprocess_specs", None)
        # Mirrors BpmnWorkflowConverter.from_dict, with the given specs instead of restored ones.
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class _JsonTaskConverter(TaskConverter):
    """SpiffWorkflow leaves task data raw for its JSON encoder; convert it so the dict is JSON-safe."""

    def to_dict(self, task: Task) -> dict[str, Any]:
        dct = super().to_dict(task)
        if dct["data"]:
            dct["data"] = self.registry.convert(dct["data"])
        if dct["delta"]:
            dct["delta"] = self.registry.convert(dct["delta"])
        return dct


def _datetime_to_dict(value: datetime) -> dict[str, Any]:
    dct: dict[str, Any] = {"value": value.isoformat()}
    zone = getattr(value.tzinfo, "key", None)  # ZoneInfo keeps its name; fixed offsets need none
    if zone:
        dct["zone"] = zone
    return dct


def _datetime_from_dict(dct: dict[str, Any]) -> datetime:
    value = datetime.fromisoformat(dct["value"])
    zone = dct.get("zone")
    if zone and value.tzinfo is not None:
        from zoneinfo import ZoneInfo

        value = value.astimezone(ZoneInfo(zone))
    return value


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    config[Task] = _JsonTaskConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]))
    registry.register(time, lambda v: {"value": v.isoformat()}, lambda d: time.fromisoformat(d["value"]))
    registry.register(datetime, _datetime_to_dict, _datetime_from_dict)
    return BpmnWorkflowSerializer(registry)


# The serializer holds no per-call state (dump never sets the registry's encoder mode), so one
# instance is shared by all threads.
SERIALIZER = _make_serializer()
_ENCODER = create_encoder(SERIALIZER.registry)


def dump(wf: BpmnWorkflow) -> dict[str, Any]:
    """The workflow instance as a JSON-safe dict, without ``spec``/``subprocess_specs``."""
    doc = SERIALIZER.to_dict(wf)
    doc[VERSION_KEY] = SERIALIZER.VERSION
    return doc


def load(
    doc: dict[str, Any],
    spec: BpmnProcessSpec,
    subprocess_specs: dict[str, BpmnProcessSpec],
    script_engine: PythonScriptEngine | None = None,
) -> BpmnWorkflow:
    """Restore a workflow from ``dump`` output, re-attaching the (cached) spec objects.

    ``doc`` is not modified. The workflow gets ``script_engine`` or a restricted one.
    """
    doc = dict(doc)
    version = doc.pop(VERSION_KEY, SERIALIZER.VERSION)
    if version != SERIALIZER.VERSION:
        doc = _migrate(doc, version, spec, subprocess_specs)
    else:
        # Restoring pops keys from the top dict and from "subprocesses" (the rest is only read and
        # rebuilt), so shallow copies of those two keep the caller's document intact.
        doc["subprocesses"] = dict(doc.get("subprocesses", {}))
    try:
        wf = SERIALIZER.from_dict(doc, spec=spec, subprocess_specs=subprocess_specs)
    except (KeyError, TypeError, ValueError) as exc:
        raise EngineError(f"流程实例数据无法还原：{exc!r}") from exc
    wf.script_engine = script_engine or make_script_engine()
    return wf


def _migrate(
    doc: dict[str, Any], version: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]
) -> dict[str, Any]:
    # SpiffWorkflow's migrations read the spec dicts: lend them, then drop them again.
    if version not in MIGRATIONS:
        raise EngineError(f"流程实例数据的序列化版本 {version} 无法迁移到 {VERSION}")
    doc = copy.deepcopy(doc)
    doc["spec"] = SERIALIZER.to_dict(spec)
    doc["subprocess_specs"] = {k: SERIALIZER.to_dict(v) for k, v in subprocess_specs.items()}
    MIGRATIONS[version](doc)
    doc.pop("VERSION", None)
    return doc


def dumps(wf: BpmnWorkflow) -> str:
    """``dump`` as a compact JSON string."""
    return json.dumps(dump(wf), cls=_ENCODER, ensure_ascii=False, separators=(",", ":"))


def loads(
    text: str | bytes,
    spec: BpmnProcessSpec,
    subprocess_specs: dict[str, BpmnProcessSpec],
    script_engine: PythonScriptEngine | None = None,
) -> BpmnWorkflow:
    """``load`` from a JSON string."""
    return load(json.loads(text), spec, subprocess_specs, script_engine)
