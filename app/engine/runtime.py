"""The workflow runtime: start, load, run steps, complete, reset, terminate, messages, timers.

No Flask request objects and no HTML. Every function works inside the caller's transaction and
flushes; the route or job commits once. Instance rows carry a version column (optimistic locking):
two acts on the same instance at once -> one wins, the other raises Conflict.
"""

from __future__ import annotations

import logging
import re
import traceback
from datetime import UTC, datetime
from string import Formatter
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select, update
from sqlalchemy.orm.exc import StaleDataError

from app.engine import deploy, serializer, services
from app.engine.errors import EngineError
from app.engine.models import Incident, InstanceEvent, ProcessInstance, ProcessModel, ProcessVersion
from app.engine.services import script_engine
from app.errors import Conflict, NotFound
from app.extensions import db
from app.models_base import utcnow

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")


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
    if model.title_rule or model.summary_fields:
        data = instance_data(wf)
        title = render_rule(model.title_rule, data).strip()
        if title and title != render_rule(model.title_rule, {}).strip() and title != instance.title:
            instance.title = title[:300]
        summary = {k: data.get(k) for k in (model.summary_fields or []) if data.get(k) is not None}
        if summary != instance.summary:
            instance.summary = summary
    if wf.completed and instance.status in ("running", "error"):
        instance.status = "completed"
        instance.ended_at = utcnow()
        instance.next_timer_at = None


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
        db.session.add(
            Incident(
                instance_id=instance.id,
                step=getattr(step, "bpmn_id", None),
                step_name=getattr(step, "bpmn_name", None) or getattr(step, "bpmn_id", None),
                message=f"步骤执行失败：{message}",
                detail=traceback.format_exc(limit=5),
            )
        )
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


def find_task(wf: BpmnWorkflow, spiff_task_id: str):
    from uuid import UUID

    try:
        return wf.get_task_from_id(UUID(str(spiff_task_id)))
    except (KeyError, ValueError, TypeError):
        return None


def reset_to(instance: ProcessInstance, wf: BpmnWorkflow, spiff_task_id: str, data: dict | None = None) -> None:
    """Move the instance back to a step it has run (退回/撤回/拿回/移动令牌); later branches are dropped."""
    task = find_task(wf, spiff_task_id)
    if task is None:
        raise Conflict("目标步骤已不存在，无法退回")
    wf.reset_from_task_id(task.id, data=data)
    run_engine(instance, wf)


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


def _lock_numbering(model) -> None:
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


def start(
    process_id: str,
    *,
    initiator,
    org,
    data: dict | None = None,
    business_key: str | None = None,
    version: ProcessVersion | None = None,
    title: str | None = None,
) -> tuple[ProcessInstance, BpmnWorkflow]:
    """Create an instance of the current (or given) version and run it to its first wait state."""
    version = version or deploy.current_version(process_id)
    model = version.model
    spec, subs = deploy.specs_for(version)
    wf = BpmnWorkflow(spec, subs, script_engine=script_engine())
    data = dict(data or {})
    data.setdefault("initiator", getattr(initiator, "login", None))
    data.setdefault("initiator_org", org.code)
    _lock_numbering(model)
    instance = ProcessInstance(
        version=version,
        version_id=version.id,
        process_id=model.process_id,
        business_key=business_key,
        number=next_number(model.number_rule, model.process_id),
        title=title or render_rule(model.title_rule, data) or model.name,
        summary={k: data.get(k) for k in (model.summary_fields or []) if k in data},
        org_id=org.id,
        initiator_id=getattr(initiator, "id", None),
        status="running",
        state={},
    )
    db.session.add(instance)
    db.session.flush()
    # The start event carries the initial data into the first tasks.
    for task in wf.get_tasks(state=TaskState.READY):
        task.data.update(data)
    run_engine(instance, wf)
    save(instance, wf)
    add_event(instance, "start", actor=initiator, step_name="发起", data={"fields": sorted(data)})
    return instance, wf


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
    event = InstanceEvent(
        instance_id=instance.id,
        kind=kind,
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "name", None),
        step=step,
        step_name=step_name,
        comment=comment,
        data=data or {},
    )
    db.session.add(event)
    return event


def get_instance(instance_id: int) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound("流程实例不存在")
    return instance


# ---------------------------------------------------------------------------------------------
# life cycle


def terminate(instance: ProcessInstance, wf: BpmnWorkflow, *, reason: str, actor=None, status="terminated") -> None:
    if instance.status in ("completed", "terminated"):
        raise Conflict("流程已结束")
    wf.cancel()
    instance.state = serializer.dump(wf)
    instance.status = status
    instance.end_reason = reason
    instance.ended_at = utcnow()
    instance.next_timer_at = None
    instance.current_steps = []
    instance.updated_at = utcnow()
    add_event(instance, "terminate", actor=actor, comment=reason)


def fire_timers(instance: ProcessInstance) -> bool:
    """Refresh due timers and run what follows. True when something fired."""
    wf = load(instance)
    before = {t.id for t in wf.get_tasks(state=TaskState.WAITING)}
    wf.refresh_timers()
    fired = [t for t in wf.get_tasks(state=TaskState.READY | TaskState.COMPLETED) if t.id in before]
    run_engine(instance, wf)
    save(instance, wf)
    if fired:
        for task in fired:
            add_event(
                instance,
                "timer",
                step=task.task_spec.bpmn_id,
                step_name=task.task_spec.bpmn_name or "定时器",
                comment="定时器到期",
            )
    return bool(fired)


def send_message(instance: ProcessInstance, wf: BpmnWorkflow, name: str, payload: dict | None = None) -> None:
    """Deliver a message to the task of this instance that waits for it."""
    waiting = [
        t
        for t in wf.get_tasks(state=TaskState.WAITING)
        if isinstance(getattr(t.task_spec, "event_definition", None), MessageEventDefinition)
        and t.task_spec.event_definition.name == name
    ]
    if not waiting:
        raise Conflict(f"流程当前不在等待消息“{name}”")
    definition = waiting[0].task_spec.event_definition
    wf.send_event(BpmnEvent(definition, payload=payload or {}))
    run_engine(instance, wf)


def instance_data(wf: BpmnWorkflow) -> dict[str, Any]:
    """The data as the latest completed or ready task sees it (for display and prediction)."""
    tasks = ready_user_tasks(wf) or wf.get_tasks(state=TaskState.COMPLETED)
    if not tasks:
        return dict(wf.data)
    latest = max(tasks, key=lambda t: t.last_state_change)
    return dict(latest.data)
