"""Instances as the administrator sees them: the scoped list with filters, the diagram markers, masked data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Select, select

from app.engine.models import ProcessInstance, ProcessVersion
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation
from app.security.masking import mask_id_number, mask_name, mask_phone
from app.security.scope import scope_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SENSITIVE = ("phone", "id_number", "idcard", "reporter")


@dataclass
class Filters:
    process: str | None = None
    version: int | None = None
    status: str | None = None
    org_id: int | None = None
    started_from: date | None = None
    started_to: date | None = None
    q: str | None = None

    @classmethod
    def from_args(cls, args) -> Filters:
        def as_int(name: str) -> int | None:
            value = (args.get(name) or "").strip()
            if not value:
                return None
            if not value.isdigit():
                raise ValidationFailed(f"筛选条件 {name} 应为数字")
            return int(value)

        def as_date(name: str) -> date | None:
            value = (args.get(name) or "").strip()
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError as exc:
                raise ValidationFailed(f"日期「{value}」格式不正确，应为 YYYY-MM-DD") from exc

        return cls(
            process=(args.get("process") or "").strip() or None,
            version=as_int("version"),
            status=(args.get("status") or "").strip() or None,
            org_id=as_int("org_id"),
            started_from=as_date("started_from"),
            started_to=as_date("started_to"),
            q=(args.get("q") or "").strip() or None,
        )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def list_query(user, f: Filters) -> Select:
    """Instances inside the user's data scope, filtered in SQL (paged by the caller)."""
    stmt = select(ProcessInstance).join(ProcessInstance.version)
    stmt = scope_for(user).filter_org(stmt, ProcessInstance.org_id)
    if f.process:
        stmt = stmt.where(ProcessInstance.process_id == f.process)
    if f.version:
        stmt = stmt.where(ProcessVersion.version == f.version)
    if f.status:
        stmt = stmt.where(ProcessInstance.status == f.status)
    if f.org_id:
        org = db.session.get(Organisation, f.org_id)
        if org is None:
            raise NotFound("机构不存在")
        sub = select(Organisation.id).where(Organisation.path.startswith(org.path, autoescape=True))
        stmt = stmt.where(ProcessInstance.org_id.in_(sub))
    if f.started_from:
        stmt = stmt.where(ProcessInstance.started_at >= _day_start(f.started_from))
    if f.started_to:
        stmt = stmt.where(ProcessInstance.started_at < _day_start(f.started_to + timedelta(days=1)))
    if f.q:
        like = f"%{f.q}%"
        stmt = stmt.where(ProcessInstance.title.like(like) | ProcessInstance.number.like(like))
    return stmt.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())


def get_scoped(user, instance_id: int) -> ProcessInstance:
    """An instance inside the user's scope (outside it, the instance does not exist for them)."""
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None or not scope_for(user).contains(db.session.get(Organisation, instance.org_id)):
        raise NotFound("流程实例不存在或不在您的数据范围内")
    return instance


# ---------------------------------------------------------------------------------------------
# the diagram


def _bpmn_id(task) -> str | None:
    return getattr(task.task_spec, "bpmn_id", None)


def markers(wf, bpmn_text: str | None = None) -> dict[str, list[str]]:
    """Element ids to mark on the diagram: done, current and failed steps, and the flows taken."""
    done: set[str] = set()
    current: set[str] = set()
    failed: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for task in wf.get_tasks():
        element = _bpmn_id(task)
        if not element:
            continue
        if task.state == TaskState.ERROR:
            failed.add(element)
        elif task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
            current.add(element)
        elif task.state == TaskState.COMPLETED:
            done.add(element)
        else:
            continue
        parent = task.parent
        while parent is not None and not _bpmn_id(parent):
            parent = parent.parent
        if parent is not None:
            pairs.add((_bpmn_id(parent), element))
    flows: list[str] = []
    if bpmn_text:
        try:
            root = etree.fromstring(bpmn_text.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            root = None
        if root is not None:
            for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
                if (flow.get("sourceRef"), flow.get("targetRef")) in pairs:
                    flows.append(flow.get("id"))
    return {
        "done": sorted(done - current - failed),
        "current": sorted(current - failed),
        "failed": sorted(failed),
        "flows": sorted(flows),
    }


def step_choices(wf) -> list[dict]:
    """Steps a token can be moved back to: user-facing and automatic steps the instance has completed."""
    latest: dict[str, Any] = {}
    for task in wf.get_tasks(state=TaskState.COMPLETED):
        element = _bpmn_id(task)
        spec = task.task_spec
        if not element or type(spec).__name__ in ("StartEvent", "EndEvent") or "Gateway" in type(spec).__name__:
            continue
        if element not in latest or task.last_state_change > latest[element].last_state_change:
            latest[element] = task
    ordered = sorted(latest.values(), key=lambda t: t.last_state_change)
    return [{"step": _bpmn_id(t), "name": t.task_spec.bpmn_name or _bpmn_id(t)} for t in ordered]


def all_steps(spec, subs) -> dict[str, str]:
    """Every BPMN element id the engine knows in a version, with its name."""
    steps = {}
    for process in [spec, *(subs or {}).values()]:
        for ts in process.task_specs.values():
            element = getattr(ts, "bpmn_id", None)
            if element:
                steps.setdefault(element, ts.bpmn_name or element)
    return steps


# ---------------------------------------------------------------------------------------------
# masking


def _sensitive(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in SENSITIVE)


def _mask_value(key: str, value: Any) -> Any:
    if value is None or value == "":
        return value
    if isinstance(value, dict):
        return {k: _mask_value(key, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_value(key, v) for v in value]
    text = str(value)
    lowered = key.lower()
    if "phone" in lowered:
        return mask_phone(text)
    if "id_number" in lowered or "idcard" in lowered:
        return mask_id_number(text)
    return mask_name(text)


def mask_data(data: Any, key: str = "") -> Any:
    """Task data for display: values of fields named like phone/id_number/idcard/reporter are masked."""
    if isinstance(data, dict):
        return {k: (_mask_value(str(k), v) if _sensitive(str(k)) else mask_data(v, str(k))) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_data(v, key) for v in data]
    return data
