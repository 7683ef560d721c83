"""Deciding acts on tasks: start, complete/approve/reject (with approval groups), 退回, 撤回/拿回, 终止.

Each act: check → change the engine and the rows → history event + audit entry → flush. The caller
commits once. A row that is no longer open, or a lost race on the instance version, is a 409.
"""

from __future__ import annotations

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select

from app.audit import services as audit
from app.engine import forms, inbox, runtime
from app.engine.models import ProcessInstance
from app.engine.nodes import NodeConfig
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.inbox import lifecycle, notify
from app.inbox.models import HumanTask
from app.inbox.queries import can_act
from app.models_base import utcnow

DECISIONS = {"complete", "approve", "reject"}


def _handled_message(row: HumanTask) -> str:
    if row.status == "completed" and row.completed_by is not None:
        return f"该任务已由{row.completed_by.name}处理（{row.outcome_label}），请勿重复提交"
    if row.status == "cancelled":
        return "该任务已被撤销（流程已退回、撤回或变化），无需处理"
    return "该任务当前不可处理"


def ensure_actor(row: HumanTask, actor) -> None:
    if row.status != "open":
        raise Conflict(_handled_message(row))
    if not can_act(actor, row):
        raise PermissionDenied("您不是该任务的办理人")
    if row.instance.status == "suspended":
        raise Conflict("流程已挂起，暂不能办理")
    if row.instance.status != "running":
        raise Conflict("流程已结束或异常，不能办理")


# One entry point starts every instance (start-roles check, node policies, audit): the runtime's.
start = runtime.start


# ---------------------------------------------------------------------------------------------
# deciding


def _group_and_open(row: HumanTask) -> tuple[list[HumanTask], list[HumanTask]]:
    """This activation's group (any status) and the instance's other open rows: read with the row by
    `services.load_task` when the act came through it, else one query."""
    from app.inbox.services import preloaded_rows

    rows = preloaded_rows(row)
    if rows is None:
        rows = list(
            db.session.scalars(
                select(HumanTask).where(
                    HumanTask.instance_id == row.instance_id,
                    or_(HumanTask.group_id == row.group_id, HumanTask.status.in_(("open", "pending"))),
                )
            )
        )
    else:  # the group as read, and the rows still open now (the act may have changed some in memory)
        rows = [r for r in rows if r.group_id == row.group_id or r.status in ("open", "pending")]
    return [r for r in rows if r.group_id == row.group_id], rows


def resolve_group(rows: list[HumanTask], method: str, ratio: int) -> str | None:
    """'approve', 'reject' or None (still open) for an approval group's current rows."""
    members = [r for r in rows if r.status != "cancelled" and r.outcome not in ("transfer", "delegated", "add_sign")]
    done = [r for r in members if r.status == "completed"]
    approvals = sum(1 for r in done if r.outcome in ("approve", "auto_approve", "complete"))
    rejects = sum(1 for r in done if r.outcome in ("reject", "auto_reject"))
    waiting = [r for r in members if r.status in ("open", "pending")]
    if method in ("single", "any"):
        if rejects:
            return "reject"
        return "approve" if approvals else None
    if method == "ratio":
        total = len(members)
        if total and approvals * 100 >= ratio * total:
            return "approve"
        if total and (approvals + len(waiting)) * 100 < ratio * total:
            return "reject"
        return None
    # all (会签) and sequential (依次): one rejection decides; everyone must approve.
    if rejects:
        return "reject"
    return None if waiting else "approve"


def _activate_next_in_sequence(rows: list[HumanTask]) -> bool:
    pending = sorted((r for r in rows if r.status == "pending" and not r.delegated_from_id), key=lambda r: r.seq)
    if any(r.status == "open" for r in rows) or not pending:
        return False
    pending[0].status = "open"
    pending[0].created_at = utcnow()
    notify.new_tasks([pending[0]])
    return True


def complete(
    row: HumanTask,
    actor,
    *,
    action: str,
    form_data: dict | None = None,
    comment: str | None = None,
    signature: str | None = None,
    cfg: NodeConfig | None = None,
    wf=None,
) -> ProcessInstance:
    """提交 / 通过 / 拒绝 on one row; completes the Spiff task when the row's group resolves.

    `wf`: the instance's workflow when the caller has loaded it already (to check the form), unchanged."""
    ensure_actor(row, actor)
    if action not in DECISIONS:
        raise ValidationFailed(f"未知的操作：{action}")
    instance = row.instance
    wf = wf or runtime.load(instance)
    task = runtime.find_task(wf, row.spiff_task_id)
    if task is None or task.state != TaskState.READY:
        raise Conflict("该任务已不在待办状态，可能已被他人处理或流程已变化")
    _info, node = inbox.config_for(instance, task)
    cfg = cfg or node
    if action in ("approve", "reject") and row.kind != "approval":
        raise ValidationFailed("该任务不是审批任务")
    if action == "complete" and row.kind == "approval":
        raise ValidationFailed("审批任务请选择通过或拒绝")
    if action in cfg.reason_required and not (comment or "").strip():
        label = cfg.label(action)
        raise ValidationFailed(f"{label}时必须填写意见", errors={"comment": f"请填写{label}意见"})
    if cfg.signature and action in ("approve", "complete") and not signature:
        raise ValidationFailed("该节点需要手写签名", errors={"signature": "请签名"})

    return _decide(
        row, actor, instance, wf, cfg, action=action, form_data=form_data, comment=comment, signature=signature
    )


def decide_as_system(row: HumanTask, *, approve: bool, reason: str) -> ProcessInstance:
    """A timeout policy decides a row (自动通过 / 自动拒绝): the same group logic as a person's decision."""
    instance = row.instance
    wf = runtime.load(instance)
    task = runtime.find_task(wf, row.spiff_task_id)
    if row.status != "open" or task is None or task.state != TaskState.READY:
        raise Conflict("该任务已不在待办状态")
    _info, cfg = inbox.config_for(instance, task)
    action = ("approve" if approve else "reject") if row.kind == "approval" else "complete"
    return _decide(
        row,
        None,
        instance,
        wf,
        cfg,
        action=action,
        form_data={},
        comment=reason,
        signature=None,
        outcome_label="auto_approve" if approve else "auto_reject",
    )


def decision_data(kind: str, outcome: str, form_data: dict | None) -> dict:
    """What a decision writes into the task data (the same rule for the real run and the dry run).

    An approval node (kind=approval): the button decides, `approved` = 通过. Any other node: a form
    field `approved` the person filled in is honoured (the diagram's gateway routes by it); without one
    the submission counts as approved, so `approved == True` gateways after plain tasks keep working.
    """
    data = dict(form_data or {})
    if kind != "approval" and isinstance(data.get("approved"), bool):
        approved = data["approved"]
        return {**data, "approved": approved, "outcome": "approve" if approved else "reject"}
    return {**data, "approved": outcome == "approve", "outcome": outcome}


SENSITIVE_HINTS = ("phone", "id_number", "idcard", "id_card", "reporter", "password", "secret")


def data_changes(before: dict, after: dict) -> dict[str, list]:
    """The fields a submission changed, as {field: [old, new]}; sensitive values are not repeated."""
    changes = {}
    for key, new in after.items():
        old = before.get(key)
        if old == new:
            continue
        if any(h in key.lower() for h in SENSITIVE_HINTS):
            changes[key] = ["***", "***"]
        else:
            changes[key] = [old, new]
    return changes


def _decide(row, actor, instance, wf, cfg, *, action, form_data, comment, signature, outcome_label=None):
    """Record one row's decision; when its group resolves, complete the Spiff task and move on."""
    actor_id = getattr(actor, "id", None)
    row.status, row.outcome, row.comment = "completed", action, comment
    row.form_data, row.signature, row.draft = form_data or {}, signature, None
    row.completed_at, row.completed_by_id = utcnow(), actor_id
    if row.assignee_id is None:
        row.assignee_id = actor_id
    if outcome_label:
        row.outcome = outcome_label
    event_kind = outcome_label or action
    task = runtime.find_task(wf, row.spiff_task_id)
    changes = data_changes(dict(task.data) if task is not None else {}, form_data or {})
    runtime.add_event(
        instance,
        event_kind,
        actor=actor,
        step=row.step,
        step_name=row.step_name,
        comment=comment,
        data={"changes": changes, "task": row.id},
    )
    audit.record(
        f"task.{action}",
        actor=actor,
        object_type="task",
        object_id=row.id,
        detail={"instance": instance.id, "step": row.step, "changed": sorted(changes)},
    )

    # A delegate's answer goes back to the delegator (委派), who then decides.
    if row.delegated_from_id:
        row.outcome = "delegated"
        back = db.session.scalar(
            select(HumanTask)
            .where(
                HumanTask.group_id == row.group_id,
                HumanTask.assignee_id == row.delegated_from_id,
                HumanTask.status == "pending",
            )
            .order_by(HumanTask.id.desc())
            .limit(1)
        )
        if back is not None:
            back.status = "open"
            back.draft = {**(form_data or {}), "_delegate_comment": comment}
            notify.new_tasks([back])
        instance.updated_at = utcnow()
        runtime.flush_or_conflict()
        return instance

    group, instance_rows = _group_and_open(row)
    # 向前加签: the row that asked for signers waits until they have all answered.
    if row.add_mode == "before" and row.added_by_id:
        if not any(
            r.status == "open" and r.add_mode == "before" and r.added_by_id == row.added_by_id
            for r in group
            if r.id != row.id
        ):
            waiting = next((r for r in group if r.assignee_id == row.added_by_id and r.status == "pending"), None)
            if waiting is not None:
                waiting.status = "open"
                notify.new_tasks([waiting])
        if action != "reject":
            instance.updated_at = utcnow()
            runtime.flush_or_conflict()
            return instance

    if row.kind == "approval":
        outcome = resolve_group(group, row.method, cfg.ratio)
        if outcome is None:
            if row.method == "sequential":
                _activate_next_in_sequence(group)
            instance.updated_at = utcnow()  # bumps the version: concurrent members serialise here
            runtime.flush_or_conflict()
            return instance
    else:
        outcome = "approve"

    for other in group:
        if other.status in ("open", "pending"):
            other.status, other.completed_at = "cancelled", utcnow()
    approvals = [
        {
            "user": r.completed_by_id,
            "outcome": r.outcome,
            "comment": r.comment,
            "at": r.completed_at.isoformat() if r.completed_at else None,
        }
        for r in group
        if r.status == "completed"
    ]
    data = decision_data(row.kind, outcome, form_data)
    data.update(
        {
            "last_comment": comment,
            f"{row.step}_approvals": approvals,
            "last_actor": getattr(actor, "login", "system"),
        }
    )
    if outcome == "reject" and cfg.reject_policy != "continue":
        return _reject_by_policy(instance, wf, row, actor, cfg, comment)
    runtime.complete(
        instance,
        wf,
        row.spiff_task_id,
        data,
        open_rows=[r for r in instance_rows if r.status in ("open", "pending")],
        strict=cfg.label(action) if actor is not None else None,
        actor=actor,
    )
    lifecycle.decided(instance, row, outcome, actor)
    lifecycle.ended(instance, actor)
    return instance


def _reject_by_policy(instance, wf, row, actor, cfg: NodeConfig, comment):
    if cfg.reject_policy == "terminate":
        runtime.terminate(instance, wf, reason=comment or "审批拒绝", actor=actor, status="rejected")
        lifecycle.ended(instance, actor)
        return instance
    target = cfg.reject_policy.partition(":")[2]
    return return_to(
        row, actor, target=target or "initiator", comment=comment or "审批拒绝", already_checked=True, wf=wf
    )


# ---------------------------------------------------------------------------------------------
# 退回, 撤回, 拿回


def visited_steps(wf) -> list[dict]:
    """User-task steps completed on the current path, latest run of each: the only 退回 targets."""
    latest: dict[str, object] = {}
    for task in wf.get_tasks(state=TaskState.COMPLETED):
        if not getattr(task.task_spec, "manual", False):
            continue
        key = task.task_spec.bpmn_id or task.task_spec.name
        if key not in latest or task.last_state_change > latest[key].last_state_change:
            latest[key] = task
    ordered = sorted(latest.values(), key=lambda t: t.last_state_change)
    return [
        {
            "step": t.task_spec.bpmn_id or t.task_spec.name,
            "name": t.task_spec.bpmn_name or t.task_spec.name,
            "task_id": str(t.id),
        }
        for t in ordered
    ]


def initiator_step(instance: ProcessInstance, visited: list[dict]) -> dict:
    """退回发起人: the first visited step the initiator completed (else the first step on the path)."""
    mine = set(
        db.session.scalars(
            select(HumanTask.step).where(
                HumanTask.instance_id == instance.id,
                HumanTask.status == "completed",
                HumanTask.completed_by_id == instance.initiator_id,
            )
        )
    )
    return next((v for v in visited if v["step"] in mine), visited[0])


def _previous_actor(instance_id: int, spiff_task_id: str) -> int | None:
    return db.session.scalar(
        select(HumanTask.completed_by_id)
        .where(
            HumanTask.instance_id == instance_id,
            HumanTask.spiff_task_id == spiff_task_id,
            HumanTask.status == "completed",
        )
        .order_by(HumanTask.completed_at.desc())
        .limit(1)
    )


def _reassign(created: list[HumanTask], step_task_id: str, user_id: int | None) -> None:
    if not user_id:
        return
    for r in created:
        if r.spiff_task_id == step_task_id and r.method == "single":
            r.assignee_id, r.candidate_role = user_id, None


def return_to(
    row: HumanTask,
    actor,
    *,
    target: str,
    comment: str | None,
    direct: bool = False,
    already_checked: bool = False,
    wf=None,
) -> ProcessInstance:
    """退回 to a visited step ('initiator' = the first step on the path) with a reason."""
    if not already_checked:
        ensure_actor(row, actor)
    if not (comment or "").strip():
        raise ValidationFailed("退回必须填写原因", errors={"comment": "请填写退回原因"})
    instance = row.instance
    wf = wf or runtime.load(instance)
    visited = visited_steps(wf)
    if not visited:
        raise Conflict("没有可退回的已办步骤")
    if target == "initiator":
        choice = initiator_step(instance, visited)
    else:
        choice = next((v for v in visited if v["step"] == target), None)
        if choice is None:
            raise ValidationFailed("只能退回到本流程已经过的步骤", errors={"target": "退回目标无效"})
    if choice["step"] == row.step:
        raise ValidationFailed("不能退回到当前步骤")
    if not already_checked:
        row.status, row.outcome, row.comment = "completed", "return", comment
        row.completed_at, row.completed_by_id = utcnow(), actor.id
    if direct:
        wf.data[inbox.JUMP_KEY] = row.step
    created = runtime.reset(instance, wf, choice["task_id"], strict="退回")
    _reassign(created, choice["task_id"], _previous_actor(instance.id, choice["task_id"]))
    runtime.add_event(
        instance,
        "return",
        actor=actor,
        step=row.step,
        step_name=row.step_name,
        comment=comment,
        data={"to": choice["step"], "to_name": choice["name"], "direct": direct},
    )
    audit.record(
        "task.return",
        actor=actor,
        object_type="task",
        object_id=row.id,
        detail={"instance": instance.id, "to": choice["step"]},
    )
    for r in created:
        notify.notify(
            notify.recipients(r),
            kind="return",
            title=f"被退回：{instance.title} - {r.step_name}",
            body=comment,
            url=f"/inbox/tasks/{r.id}",
            instance_id=instance.id,
        )
    return instance


def withdraw(instance: ProcessInstance, actor) -> ProcessInstance:
    """撤回: the initiator takes the whole instance back to its first step while no approver has acted
    (nobody else completed, claimed or drafted anything); it opens again for the initiator."""
    if instance.status != "running":
        raise Conflict("流程已结束，不能撤回")
    if instance.initiator_id != actor.id:
        raise PermissionDenied("只有发起人可以撤回流程；办理人可以拿回自己刚办理的一步")
    rows = list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)))
    if any(
        (r.status == "completed" and r.completed_by_id not in (None, actor.id))
        or (
            r.status in ("open", "pending")
            and r.assignee_id not in (None, actor.id)
            and (r.claimed_at or r.draft is not None)
        )
        for r in rows
    ):
        raise Conflict("审批人已有人处理，不能撤回；如需修改，请联系审批人退回")
    wf = runtime.load(instance)
    visited = visited_steps(wf)
    if not visited:
        raise Conflict("流程还没有可撤回的步骤")
    first = visited[0]
    created = runtime.reset(instance, wf, first["task_id"], strict="撤回")
    _reassign(created, first["task_id"], actor.id)
    runtime.add_event(instance, "withdraw", actor=actor, step=first["step"], step_name=first["name"], comment="撤回")
    audit.record("task.withdraw", actor=actor, object_type="instance", object_id=instance.id, detail={})
    return instance


def take_back(instance: ProcessInstance, actor, *, kind: str) -> ProcessInstance:
    """拿回 (the approver, their own last act, before anyone acted on the next step); 撤回 is `withdraw`."""
    if kind == "withdraw":
        return withdraw(instance, actor)
    if instance.status != "running":
        raise Conflict("流程已结束，不能拿回")
    mine = db.session.scalar(
        select(HumanTask)
        .where(
            HumanTask.instance_id == instance.id,
            HumanTask.status == "completed",
            HumanTask.outcome.in_(("complete", "approve")),
        )
        .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc())
        .limit(1)
    )
    if mine is None or mine.completed_by_id != actor.id:
        raise Conflict("只有上一步的办理人可以拿回")
    later = list(
        db.session.scalars(
            select(HumanTask).where(
                HumanTask.instance_id == instance.id, HumanTask.created_at >= mine.completed_at, HumanTask.id != mine.id
            )
        )
    )
    if any(r.status == "completed" or r.claimed_at or r.draft is not None for r in later):
        raise Conflict("下一步已有人处理，不能再拿回")
    wf = runtime.load(instance)
    if runtime.find_task(wf, mine.spiff_task_id) is None:
        raise Conflict("流程已变化，不能拿回")
    created = runtime.reset(instance, wf, mine.spiff_task_id, strict="拿回")
    _reassign(created, mine.spiff_task_id, actor.id)
    runtime.add_event(instance, kind, actor=actor, step=mine.step, step_name=mine.step_name, comment="拿回")
    audit.record(f"task.{kind}", actor=actor, object_type="instance", object_id=instance.id, detail={"step": mine.step})
    return instance


def terminate(instance: ProcessInstance, actor, *, reason: str, void: bool = False) -> ProcessInstance:
    """终止 / 作废: the initiator or a process administrator, with a reason."""
    if not (reason or "").strip():
        raise ValidationFailed("请填写终止原因", errors={"reason": "请填写终止原因"})
    refusal = lifecycle.terminate_refusal(instance, actor)
    if refusal:
        raise PermissionDenied(refusal)
    wf = runtime.load(instance)
    runtime.terminate(instance, wf, reason=reason, actor=actor, status="terminated")
    lifecycle.ended(instance, actor)
    audit.record(
        "process.void" if void else "process.terminate",
        actor=actor,
        object_type="instance",
        object_id=instance.id,
        detail={"reason": reason},
    )
    return instance


def check_form(row: HumanTask, form, *, files: dict | None = None, wf=None) -> dict:
    """Validate a posted form against the task's schema (with the node's field permissions); reads `wf`
    (loaded here when not given) and leaves it unchanged."""
    instance = row.instance
    wf = wf or runtime.load(instance)
    task = runtime.find_task(wf, row.spiff_task_id)
    info, cfg = inbox.config_for(instance, task) if task else ({}, NodeConfig())
    schema = forms.parse((instance.spec_info.forms or {}).get(info.get("form") or ""))
    if not schema:
        return {}
    return forms.check(
        schema, form, file_values=files, permissions=cfg.field_permissions, current=dict(task.data) if task else {}
    )


def deliver_message(business_key: str, name: str, payload: dict | None = None, *, process_id: str | None = None):
    """Domain code sends a message into the running instance with this business key (one act, one flush)."""
    stmt = select(ProcessInstance).where(
        ProcessInstance.business_key == business_key, ProcessInstance.status == "running"
    )
    if process_id:
        stmt = stmt.where(ProcessInstance.process_id == process_id)
    instances = list(db.session.scalars(stmt))
    if not instances:
        from app.errors import NotFound

        raise NotFound(f"没有业务编号为“{business_key}”的进行中流程")
    if len(instances) > 1:
        raise Conflict(f"业务编号“{business_key}”对应多个进行中的流程，请指定流程")
    instance = instances[0]
    runtime.deliver_message(instance, name, payload)
    return instance
