"""Instance state below the runtime's acts: load and save, run engine steps, reset, numbering, history.

`app.engine.runtime` composes these into its acts (start, complete, timers, messages, reset); other
code reads through them (`load`, `instance_data`, `add_event`) but changes an instance only through
the runtime. Nothing here commits; `flush_or_conflict` turns a lost optimistic-lock race into a 409.
"""

from __future__ import annotations

import copy
import logging
import re
import traceback
from datetime import UTC, datetime
from string import Formatter
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select, update
from sqlalchemy.orm.exc import StaleDataError

from app import deferred
from app.engine import deploy, outcome, serializer, services
from app.engine.errors import EngineError
from app.engine.models import Incident, InstanceEvent, ProcessInstance, ProcessModel
from app.engine.services import script_engine
from app.errors import Conflict, NotFound
from app.extensions import db
from app.models_base import utcnow

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")
INCIDENTS_KEY = "ducha_last_incident"  # session.info: instance id -> the incident its latest run recorded


# ---------------------------------------------------------------------------------------------
# loading and saving


def load(instance: ProcessInstance) -> BpmnWorkflow:
    spec, subs = deploy.specs_for(instance.spec_info)
    return serializer.load(instance.state, spec, subs, script_engine())


def ready_user_tasks(wf: BpmnWorkflow) -> list:
    """READY tasks for people (user tasks, manual tasks and plain bpmn:task)."""
    return wf.get_tasks(state=TaskState.READY, manual=True)


def _timer_due(task) -> datetime | None:
    event = getattr(task.task_spec, "event_definition", None)
    if not isinstance(event, TimerEventDefinition):
        return None
    try:
        value = event.details(task).value
    except Exception:  # an expression that fails to evaluate is caught when the timer is refreshed
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)
    return None


def next_timer_at(wf: BpmnWorkflow) -> datetime | None:
    """Earliest due time of the WAITING timer events (stored indexed for the scheduler)."""
    times = [t for t in (_timer_due(task) for task in wf.get_tasks(state=TaskState.WAITING)) if t]
    return min(times).astimezone(UTC) if times else None


def save(instance: ProcessInstance, wf: BpmnWorkflow) -> None:
    instance.state = serializer.dump(wf)
    instance.next_timer_at = next_timer_at(wf) if not wf.completed else None
    instance.current_steps = sorted(
        {t.task_spec.bpmn_name or t.task_spec.bpmn_id or t.task_spec.name for t in ready_user_tasks(wf)}
    )
    instance.updated_at = utcnow()
    model = instance.spec_info
    if not model.title_rule and _is_default_title(instance.title, model.name):
        title = default_title(model, wf)
        if title != instance.title:
            instance.title = title[:300]
    if model.title_rule or model.summary_fields:
        data = instance_data(wf)
        title = render_rule(model.title_rule, data).strip()
        if title and title != render_rule(model.title_rule, {}).strip() and title != instance.title:
            instance.title = title[:300]
        summary = {k: data.get(k) for k in (model.summary_fields or []) if data.get(k) is not None}
        if summary != instance.summary:
            instance.summary = summary
    if wf.completed and instance.status in ("running", "error"):
        instance.status = outcome.final_status(wf)  # 已办结, or 已拒绝 when it ended on a rejection
        instance.ended_at = utcnow()
        instance.next_timer_at = None


TITLE_FIELDS = 2
_TITLE_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {}


def _is_default_title(title: str | None, name: str) -> bool:
    return not title or title == name or title.startswith(f"{name}：")


def _text_fields(model, form: str | None) -> tuple[str, ...]:
    """The first plain text fields of a form, in the schema's order (dates, enumerations and secrets left out)."""
    key = (model.content_hash, form or "")
    if key not in _TITLE_FIELDS:
        from app.engine import forms

        schema = forms.parse((model.forms or {}).get(form or "")) if form else {}
        names = [
            name
            for name, prop in (schema.get("properties") or {}).items()
            if isinstance(prop, dict)
            and prop.get("type") == "string"
            and not prop.get("format")
            and "enum" not in prop
            and "oneOf" not in prop
            and not any(h in name.lower() for h in ("phone", "id_number", "idcard", "password", "secret"))
        ]
        _TITLE_FIELDS[key] = tuple(names[:TITLE_FIELDS])
    return _TITLE_FIELDS[key]


def default_title(model, wf: BpmnWorkflow, data: dict | None = None) -> str:
    """Without a titleRule: the process name and the first text fields of the start form (or of the first
    step people filled in), e.g. "现场检查申请：久事大厦 消防通道"."""
    form = getattr(model, "start_form", None)
    if not form:
        done = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if getattr(t.task_spec, "manual", False)]
        if done:
            first = min(done, key=lambda t: t.last_state_change)
            form = (deploy.task_info(model).get(first.task_spec.name) or {}).get("form")
    fields = _text_fields(model, form) if form else ()
    if not fields:
        return model.name
    data = instance_data(wf) if data is None else data
    values = [str(data[f]).strip() for f in fields if data.get(f) not in (None, "")]
    values = [v[:40] for v in values if v]
    return f"{model.name}：{' '.join(values)}" if values else model.name


def flush_or_conflict() -> None:
    """Flush; a lost optimistic-lock race becomes a Chinese 409."""
    try:
        db.session.flush()
    except StaleDataError as exc:
        db.session.rollback()
        raise Conflict("该事项已被他人处理，请刷新后查看最新状态") from exc


# ---------------------------------------------------------------------------------------------
# running steps; failures become incidents


def run_engine(instance: ProcessInstance, wf: BpmnWorkflow) -> bool:
    """Run engine steps; on a failing step record an incident and mark the instance. True if ok."""
    try:
        with services.running(instance):
            wf.do_engine_steps()
        return True
    except (SpiffWorkflowException, EngineError, Exception) as exc:  # any step failure is an incident
        failed = wf.get_tasks(state=TaskState.ERROR)
        step = failed[0].task_spec if failed else None
        message = getattr(exc, "message", None) or str(exc)
        log.warning("instance %s step %s failed: %s", instance.id, getattr(step, "bpmn_id", None), message)
        incident = Incident(
            instance_id=instance.id,
            step=getattr(step, "bpmn_id", None),
            step_name=getattr(step, "bpmn_name", None) or getattr(step, "bpmn_id", None),
            message=f"步骤执行失败：{message}",
            detail=traceback.format_exc(limit=5),
        )
        db.session.add(incident)
        db.session.info.setdefault(INCIDENTS_KEY, {})[instance.id] = incident
        instance.status = "error"
        return False


def complete_spiff_task(instance: ProcessInstance, wf: BpmnWorkflow, spiff_task_id: str, data: dict) -> None:
    """Set the form data on a READY task, run it and the engine steps that follow."""
    task = find_task(wf, spiff_task_id)
    if task is None or task.state != TaskState.READY:
        raise Conflict("该任务已不在待办状态，可能已被他人处理或流程已变化")
    task.set_data(**data)
    task.run()
    run_engine(instance, wf)


def prune_events(wf: BpmnWorkflow) -> None:
    """Forget catching events whose task left the tree.

    SpiffWorkflow 3.2's reset drops the tasks of the steps after the target (and of the boundary events
    attached to them) without removing them from the event manager, so the next `refresh_timers` updates a
    detached task ("'NoneType' object has no attribute 'data'"). A task counts only while its workflow holds
    it and it still waits.
    """
    manager = wf.event_manager
    for task_id, task in list(manager.tasks.items()):
        if task.workflow.tasks.get(task_id) is not task or task.state != TaskState.WAITING:
            manager.tasks.pop(task_id, None)


def reset_engine(wf: BpmnWorkflow, spiff_task_id: str, data: dict | None = None):
    """Reset the tree to a task that ran (its boundary timers are re-armed, later ones cancelled)."""
    task = find_task(wf, spiff_task_id)
    if task is None:
        raise Conflict("目标步骤已不存在，无法退回")
    # The step opens again with the data it was completed with (a returned form shows what was entered).
    data = copy.deepcopy(dict(task.data) if data is None else dict(data))
    wf.reset_from_task_id(task.id, data=copy.deepcopy(data))
    prune_events(wf)
    # reset_branch merges the parent's data over (and into) the dict it is given: the given values win.
    task.data = data
    return task


def find_task(wf: BpmnWorkflow, spiff_task_id: str):
    from uuid import UUID

    try:
        return wf.get_task_from_id(UUID(str(spiff_task_id)))
    except (KeyError, ValueError, TypeError):
        return None


# ---------------------------------------------------------------------------------------------
# starting


class _SafeFormat(Formatter):
    def get_value(self, key, args, kwargs):
        value = kwargs.get(key, "")
        return "" if value is None else value


def render_rule(rule: str | None, data: dict) -> str:
    if not rule:
        return ""
    try:
        return _SafeFormat().format(rule, **data)
    except (ValueError, IndexError, AttributeError):
        return rule


_SEQ = re.compile(r"\{seq:(\d+)\}")


def next_number(rule: str | None, process_id: str) -> str | None:
    """流程编号: e.g. "XS{yyyy}{MM}{dd}{seq:4}" -> XS202611280001 (sequence per prefix)."""
    if not rule:
        return None
    now = datetime.now(SHANGHAI)
    prefix = rule.replace("{yyyy}", f"{now:%Y}").replace("{MM}", f"{now:%m}").replace("{dd}", f"{now:%d}")
    match = _SEQ.search(prefix)
    width = int(match.group(1)) if match else 4
    head = _SEQ.sub("", prefix)
    last = db.session.scalar(
        select(func.max(ProcessInstance.number)).where(
            ProcessInstance.number.startswith(head, autoescape=True),
            func.length(ProcessInstance.number) == len(head) + width,
        )
    )
    seq = int(last[len(head) :]) + 1 if last and last[len(head) :].isdigit() else 1
    return f"{head}{seq:0{width}d}"


def lock_numbering(model) -> None:
    """Starts of one process draw 流程编号 (max + 1) one at a time: a no-op UPDATE of the model row locks
    it until commit (a row lock on PostgreSQL; on SQLite it takes the write lock early, as SELECT ... FOR
    UPDATE does not exist there). Two processes sharing one numbering rule are not serialised by this."""
    if model.number_rule:
        db.session.execute(
            update(ProcessModel)
            .where(ProcessModel.id == model.id)
            .values(enabled=ProcessModel.enabled)
            .execution_options(synchronize_session=False)
        )


def add_event(
    instance: ProcessInstance,
    kind: str,
    *,
    actor=None,
    step: str | None = None,
    step_name: str | None = None,
    comment: str | None = None,
    data: dict | None = None,
) -> InstanceEvent:
    """Append one history event. It is written at commit (`app.deferred`: on PostgreSQL in the audit
    chain's statement), or at once inside a savepoint; queries of the history in the same transaction see
    it. The returned object is not in the session."""
    event = InstanceEvent(
        instance_id=instance.id,
        at=utcnow(),
        kind=kind,
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "name", None),
        step=step,
        step_name=step_name,
        comment=comment,
        data=data or {},
    )
    row = {c: getattr(event, c) for c in _EVENT_COLUMNS}
    if not deferred.defer(db.session(), InstanceEvent.__table__, row):
        db.session.add(event)
    return event


_EVENT_COLUMNS = ("instance_id", "at", "actor_id", "actor_name", "kind", "step", "step_name", "comment", "data")


def get_instance(instance_id: int) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound("流程实例不存在")
    return instance


def instance_data(wf: BpmnWorkflow) -> dict[str, Any]:
    """The data as the latest completed or ready task sees it (for display and prediction)."""
    tasks = ready_user_tasks(wf) or wf.get_tasks(state=TaskState.COMPLETED)
    if not tasks:
        return dict(wf.data)
    latest = max(tasks, key=lambda t: t.last_state_change)
    return dict(latest.data)
