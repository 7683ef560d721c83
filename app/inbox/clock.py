"""The statutory deadline clock of a task: extend (延期) or pause (暂停计时) with an approved reason.

The task holder asks; a user with `deadline.approve` whose scope holds the task's organisation
decides. An approved extension moves `due_at` by N working (or calendar) days; an approved pause stops
the clock (`paused_at`, no reminders or timeout actions) until the holder resumes, which moves
`due_at` by the paused time.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, and_, or_, select

from app.audit import services as audit
from app.auth.models import Role, User
from app.engine import runtime
from app.engine.calendar import get_calendar
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.inbox import notify
from app.inbox.actions import ensure_actor
from app.inbox.models import DeadlineChange, HumanTask
from app.inbox.queries import row_org
from app.models_base import utcnow
from app.security.scope import scope_for


def request_change(row: HumanTask, actor, *, kind: str, days: int, reason: str, working: bool = True):
    ensure_actor(row, actor)
    if kind not in ("extend", "pause"):
        raise ValidationFailed("申请类型无效")
    if not (reason or "").strip():
        raise ValidationFailed("请填写申请理由", errors={"reason": "请填写申请理由"})
    if kind == "extend" and not 1 <= days <= 60:
        raise ValidationFailed("延期天数须在 1 到 60 之间", errors={"days": "延期天数须在 1 到 60 之间"})
    if row.due_at is None:
        raise Conflict("该任务没有办理期限")
    if kind == "pause" and row.paused_at:
        raise Conflict("计时已暂停")
    pending = db.session.scalar(
        select(DeadlineChange.id).where(DeadlineChange.task_id == row.id, DeadlineChange.status == "pending")
    )
    if pending:
        raise Conflict("已有待审批的期限申请")
    change = DeadlineChange(
        task_id=row.id,
        kind=kind,
        days=days if kind == "extend" else 0,
        working=working,
        reason=reason.strip(),
        requested_by_id=actor.id,
    )
    db.session.add(change)
    db.session.flush()
    label = "延期" if kind == "extend" else "暂停计时"
    runtime.add_event(
        row.instance,
        "deadline_request",
        actor=actor,
        step=row.step,
        step_name=row.step_name,
        comment=f"申请{label}{f' {days} 天' if kind == 'extend' else ''}：{reason}",
    )
    notify.notify(
        approvers(row),
        kind="remind",
        title=f"期限{label}申请：{row.instance.title} - {row.step_name}",
        body=reason,
        url="/inbox/deadlines",
        instance_id=row.instance_id,
    )
    audit.record(
        "deadline.request", actor=actor, object_type="task", object_id=row.id, detail={"kind": kind, "days": days}
    )
    return change


def clock_org(row: HumanTask):
    """Whose leaders decide: the holder's organisation, or the task's for an unclaimed role task."""
    if row.assignee_id:
        holder = db.session.get(User, row.assignee_id)
        if holder is not None:
            return holder.org
    return row_org(row)


def approvers(row: HumanTask) -> list[User]:
    org = clock_org(row)
    role_ids = [r.id for r in db.session.scalars(select(Role)) if "deadline.approve" in (r.permissions or [])]
    users = db.session.scalars(select(User).where(User.roles.any(Role.id.in_(role_ids)), User.status != "disabled"))
    return [u for u in users if scope_for(u).contains(org)][:20]


def pending_for(user) -> Select:
    from app.engine.models import ProcessInstance

    stmt = (
        select(DeadlineChange)
        .join(DeadlineChange.task)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(DeadlineChange.status == "pending")
    )
    scope = scope_for(user)
    if not scope.all:
        holders_in_scope = select(User.id).where(scope.org_clause(User.org_id))
        stmt = stmt.where(
            or_(
                HumanTask.assignee_id.in_(holders_in_scope),
                and_(HumanTask.assignee_id.is_(None), scope.org_clause(HumanTask.org_id)),
            )
        )
    return stmt.order_by(DeadlineChange.created_at)


def decide(change: DeadlineChange, actor, *, approve: bool, comment: str | None = None) -> DeadlineChange:
    if not actor.can("deadline.approve") or not scope_for(actor).contains(clock_org(change.task)):
        raise PermissionDenied("您不能审批该期限申请")
    if change.status != "pending":
        raise Conflict("该申请已处理")
    if change.requested_by_id == actor.id:
        raise PermissionDenied("不能审批自己的申请")
    row = change.task
    change.status = "approved" if approve else "rejected"
    change.decided_by_id, change.decided_at, change.decision_comment = actor.id, utcnow(), comment
    if approve and row.status == "open":
        if change.kind == "extend":
            row.due_at = (
                get_calendar().add_working_days(row.due_at, change.days)
                if change.working
                else row.due_at + timedelta(days=change.days)
            )
            row.remind_count = 0
        else:
            row.paused_at = utcnow()
    label = "延期" if change.kind == "extend" else "暂停计时"
    runtime.add_event(
        row.instance,
        "deadline_decision",
        actor=actor,
        step=row.step,
        step_name=row.step_name,
        comment=f"{label}申请{'已批准' if approve else '已驳回'}" + (f"：{comment}" if comment else ""),
    )
    notify.notify(
        [change.requested_by],
        kind="remind",
        title=f"期限{label}申请{'已批准' if approve else '已驳回'}",
        url=f"/inbox/tasks/{row.id}",
        instance_id=row.instance_id,
    )
    audit.record(
        "deadline.decide",
        actor=actor,
        object_type="task",
        object_id=row.id,
        detail={"change": change.id, "approved": approve},
    )
    row.instance.updated_at = utcnow()
    return change


def resume(row: HumanTask, actor) -> HumanTask:
    ensure_actor(row, actor)
    if not row.paused_at:
        raise Conflict("计时未暂停")
    now = utcnow()
    if row.due_at:
        row.due_at = row.due_at + (now - row.paused_at)
    runtime.add_event(
        row.instance,
        "deadline_resume",
        actor=actor,
        step=row.step,
        step_name=row.step_name,
        comment=f"恢复计时，暂停 {(now - row.paused_at).days} 天",
    )
    row.paused_at = None
    row.instance.updated_at = now
    return row


def get_change(change_id: int) -> DeadlineChange:
    from app.errors import NotFound

    change = db.session.get(DeadlineChange, change_id)
    if change is None:
        raise NotFound("申请不存在")
    return change
