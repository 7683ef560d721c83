"""The runtime: the one entry point for every act that moves an instance.

start, complete, fire timers, deliver a message, reset (退回/撤回/拿回/移动令牌), terminate, and `run` for
administrative repairs (retry, migration). Each act changes the engine state, then `_finish` does the same
four things in the same order: run the engine steps → sync the inbox (with the node policies) → save the
instance → notify the new task holders. The inbox, the scheduler and the domain modules (clues, plans,
account applications) all come through here, so the start-roles check and the node policies hold
everywhere.

No Flask request objects, no HTML. Functions flush; the route or job commits once. An act by a person
that would leave the instance in `error` (a failing step after it) raises `WorkflowError` with a Chinese
message instead: the caller rolls back and nothing changed. Acts nobody waits for (timers, messages) and a
new instance whose first automatic step fails keep the instance in `error` with an incident for the
process administrator (retry).
"""

from __future__ import annotations

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

from app.engine import deploy, outcome, serializer, state
from app.engine.models import ProcessInstance, ProcessVersion
from app.engine.services import script_engine
from app.engine.state import (  # noqa: F401  (the runtime's read helpers, re-exported for callers)
    SHANGHAI,
    add_event,
    find_task,
    flush_or_conflict,
    get_instance,
    instance_data,
    load,
    ready_user_tasks,
    render_rule,
)
from app.errors import Conflict, PermissionDenied, WorkflowError
from app.extensions import db
from app.models_base import utcnow

# ---------------------------------------------------------------------------------------------
# the common tail of every act


def _failure(instance: ProcessInstance, what: str) -> WorkflowError:
    incident = db.session.info.get(state.INCIDENTS_KEY, {}).get(instance.id)
    step = f"步骤「{incident.step_name}」" if incident is not None and incident.step_name else "后续步骤"
    detail = incident.message.removeprefix("步骤执行失败：") if incident is not None else "未知错误"
    return WorkflowError(
        f"{what}失败：{step}执行出错（{detail}）。本次操作已撤销，流程保持原状；请联系流程管理员检查流程配置。"
    )


def _finish(
    instance: ProcessInstance,
    wf: BpmnWorkflow,
    *,
    open_rows=None,
    strict: str | None = None,
    actor=None,
    claim: bool = False,
) -> list:
    """inbox sync → save → flush (409 on a lost race) → notify; `strict` names the act that must not fail.

    The acting person is not notified of a task that lands in their own hands (they are on the page and
    are taken to it); with `claim`, a first task offered to a role the initiator holds opens claimed by
    the initiator before the rows are written (one INSERT, no UPDATE after it, nobody else notified)."""
    from app.engine import inbox
    from app.inbox import notify

    was_running = instance.status == "running"
    created = inbox.sync(instance, wf, open_rows=open_rows)
    if claim:
        _claim_for_initiator(created, actor)
    if strict and instance.status == "error":
        raise _failure(instance, strict)
    state.save(instance, wf)
    if was_running and instance.status == "completed":
        add_event(instance, "end", step_name="办结")
    elif was_running and instance.status == "rejected":  # the diagram routed a rejection to an end event
        add_event(instance, "reject_end", step_name="已拒绝")
    flush_or_conflict()
    notify.new_tasks(created, actor_id=getattr(actor, "id", None))
    return created


def run(instance: ProcessInstance, wf: BpmnWorkflow, *, open_rows=None, strict: str | None = None, actor=None) -> list:
    """Run the engine steps that are ready, then finish the act. Returns the inbox rows created."""
    state.run_engine(instance, wf)
    return _finish(instance, wf, open_rows=open_rows, strict=strict, actor=actor)


# ---------------------------------------------------------------------------------------------
# start


def check_may_start(model, actor, entry: str | None = None) -> None:
    """`startRoles` names the roles that may start a process, or the module page it is started from
    (`clue_registration_page`): a domain module passes its `entry` after its own permission checks."""
    roles = list(model.start_roles or [])
    if roles:
        if entry and entry in roles:
            return
        if actor is None or not (set(roles) & actor.role_codes):
            raise PermissionDenied(f"您不能发起“{model.name}”")
    elif actor is None or not actor.can("process.start"):
        raise PermissionDenied("您没有发起流程的权限")


def start(
    process_id: str,
    *,
    actor,
    org=None,
    data: dict | None = None,
    business_key: str | None = None,
    title: str | None = None,
    entry: str | None = None,
    version: ProcessVersion | None = None,
) -> ProcessInstance:
    """Check who may start, create the instance, run it to its first wait state, sync, save, notify."""
    from app.audit import services as audit

    version = version or deploy.current_version(process_id)
    model = version.model
    check_may_start(model, actor, entry)
    org = org or actor.org  # a start by the system (actor None) names its organisation
    spec, subs = deploy.specs_for(version)
    wf = BpmnWorkflow(spec, subs, script_engine=script_engine())
    data = dict(data or {})
    data.setdefault("initiator", getattr(actor, "login", None))
    data.setdefault("initiator_org", org.code)
    state.lock_numbering(model)
    instance = ProcessInstance(
        version=version,
        version_id=version.id,
        process_id=model.process_id,
        business_key=business_key,
        number=state.next_number(model.number_rule, model.process_id),
        title=title or render_rule(model.title_rule, data) or model.name,
        summary={k: data.get(k) for k in (model.summary_fields or []) if k in data},
        org_id=org.id,
        initiator_id=getattr(actor, "id", None),
        status="running",
        state={},
    )
    db.session.add(instance)
    db.session.flush()
    # The start event carries the initial data into the first tasks.
    for task in wf.get_tasks(state=TaskState.READY):
        task.data.update(data)
    state.run_engine(instance, wf)
    add_event(instance, "start", actor=actor, step_name="发起", data={"fields": sorted(data)})
    # The rows of the first steps, kept on the object for the caller's answer (no query for them).
    instance.started_rows = _finish(instance, wf, open_rows=[], actor=actor, claim=True)
    audit.record(
        "process.start",
        actor=actor,
        object_type="instance",
        object_id=instance.id,
        detail={"process": process_id, "number": instance.number},
    )
    return instance


def _claim_for_initiator(created: list, actor) -> None:
    """A first task offered to a role the initiator holds opens claimed by the initiator (as in 钉钉)."""
    from app.inbox.queries import can_act

    if actor is None:
        return
    for row in created:
        if row.status == "open" and row.assignee_id is None and row.candidate_role and can_act(actor, row):
            row.assignee_id, row.claimed_at = actor.id, utcnow()
            return


# ---------------------------------------------------------------------------------------------
# acts on a running instance


def complete(
    instance: ProcessInstance,
    wf: BpmnWorkflow,
    spiff_task_id: str,
    data: dict,
    *,
    open_rows=None,
    strict: str | None = None,
    actor=None,
) -> list:
    """Set the form data on a READY task, run it, and finish the act."""
    state.complete_spiff_task(instance, wf, spiff_task_id, data)
    return _finish(instance, wf, open_rows=open_rows, strict=strict, actor=actor)


def reset(
    instance: ProcessInstance,
    wf: BpmnWorkflow,
    spiff_task_id: str,
    *,
    data: dict | None = None,
    strict: str | None = "退回",
) -> list:
    """Move the instance back to a step it has run (退回/撤回/拿回/移动令牌, retry of a failed step).

    Later branches are dropped, with their timers; the boundary timers of the step returned to are armed
    again from now. A person's reset that would leave the instance in `error` raises instead.
    """
    state.reset_engine(wf, spiff_task_id, data)
    instance.status = "running"
    return run(instance, wf, strict=strict)


def fire_timers(instance: ProcessInstance) -> list:
    """Fire the instance's due timers and finish the act. Returns the timer tasks that fired.

    A suspended or finished instance is left alone. A boundary timer that does not interrupt its task
    (a reminder) notifies the task's current holders.
    """
    if instance.status != "running":
        return []
    wf = load(instance)
    waiting = {t.id: t for t in wf.get_tasks(state=TaskState.WAITING)}
    wf.refresh_timers()
    fired = [t for t in wf.get_tasks(state=TaskState.READY | TaskState.COMPLETED) if t.id in waiting]
    for task in fired:
        add_event(
            instance,
            "timer",
            step=task.task_spec.bpmn_id,
            step_name=task.task_spec.bpmn_name or "定时器",
            comment="定时器到期",
        )
    reminders = {step: t.task_spec.bpmn_name or "定时提醒" for t in fired if (step := _reminded_step(t))}
    run(instance, wf)
    if reminders:
        _remind_holders(instance, reminders)
    return fired


def _reminded_step(task) -> str | None:
    """The step a fired non-interrupting boundary timer is attached to (a reminder), else None."""
    spec = task.task_spec
    if not isinstance(spec, BoundaryEvent) or spec.cancel_activity or task.parent is None:
        return None
    attached = [c for c in task.parent.children if not isinstance(c.task_spec, BoundaryEvent)]
    return attached[0].task_spec.bpmn_id if attached else None


def _remind_holders(instance: ProcessInstance, steps: dict[str, str]) -> None:
    """Bell and notification row for the holders of the steps whose non-interrupting timer fired."""
    from sqlalchemy import select

    from app.inbox import notify
    from app.inbox.models import HumanTask

    rows = db.session.scalars(
        select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.status == "open", HumanTask.step.in_(list(steps))
        )
    )
    for row in rows:
        notify.notify(
            notify.recipients(row),
            kind="remind",
            title=f"{steps[row.step]}：{instance.title} - {row.step_name}",
            url=f"/inbox/tasks/{row.id}",
            instance_id=instance.id,
        )


def deliver_message(instance: ProcessInstance, name: str, payload: dict | None = None) -> list:
    """Deliver a message to the task of this instance that waits for it, and finish the act."""
    wf = load(instance)
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
    add_event(instance, "message", step_name=name, data={"fields": sorted((payload or {}).keys())})
    return run(instance, wf)


def terminate(instance: ProcessInstance, wf: BpmnWorkflow, *, reason: str, actor=None, status="terminated") -> None:
    """End the instance now: the engine is cancelled and every open inbox row with it."""
    from app.engine import inbox

    if instance.status in outcome.ENDED:
        raise Conflict("流程已结束")
    wf.cancel()
    instance.state = serializer.dump(wf)
    instance.status = status
    instance.end_reason = reason
    instance.ended_at = utcnow()
    instance.next_timer_at = None
    instance.current_steps = []
    instance.updated_at = utcnow()
    add_event(instance, "terminate" if status == "terminated" else "reject_end", actor=actor, comment=reason)
    inbox.sync(instance, wf)
    flush_or_conflict()
