"""Alerts: raise (deduplicated), close by handling, the task board (red/yellow/green), 催办 and 升级.

An alert belongs to an organisation (data scope) and has an owner who must handle it; handling
closes it with a closure note (the closure record). Alerts about a task close by themselves when
the task is done (`sweep`), alerts about a clue when the clue closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, or_, select

from app.alerts.models import Alert
from app.audit import services as audit
from app.auth.models import User
from app.engine import assign, runtime
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.inbox import collab, notify
from app.inbox.models import HumanTask
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.security.scope import scope_for

SOON = timedelta(days=1)


def owner_of(org: Organisation | None) -> User | None:
    """Who answers for an organisation's alerts: its first leader, else the parent's."""
    leaders = assign.leaders_of(org) or assign.leaders_of(org, 1)
    return leaders[0] if leaders else None


def raise_alert(
    kind: str,
    *,
    org: Organisation,
    title: str,
    owner: User | None = None,
    level: str = "yellow",
    detail: str | None = None,
    url: str | None = None,
    clue_id: int | None = None,
    plan_id: int | None = None,
    instance_id: int | None = None,
    task_id: int | None = None,
    notify_owner: bool = True,
) -> Alert:
    """An open alert of this kind about this object, created (and its owner notified) if there is none."""
    stmt = select(Alert).where(Alert.kind == kind, Alert.status == "open")
    for column, value in (("clue_id", clue_id), ("plan_id", plan_id), ("task_id", task_id)):
        stmt = stmt.where(getattr(Alert, column) == value) if value else stmt.where(getattr(Alert, column).is_(None))
    existing = db.session.scalar(stmt.limit(1))
    if existing is not None:
        if level == "red" and existing.level != "red":
            existing.level = "red"
        return existing
    owner = owner or owner_of(org)
    alert = Alert(
        kind=kind,
        level=level,
        title=title[:300],
        detail=detail,
        org_id=org.id,
        owner_id=owner.id if owner else None,
        clue_id=clue_id,
        plan_id=plan_id,
        instance_id=instance_id,
        task_id=task_id,
        url=url,
        status="open",
        actions=[],
    )
    db.session.add(alert)
    db.session.flush()
    if owner is not None and notify_owner:
        notify.notify([owner], kind="alert", title=f"预警：{alert.title}", url=f"/alerts/{alert.id}")
    return alert


def _log(alert: Alert, actor, action: str, note: str | None = None) -> None:
    entry = {"at": utcnow().isoformat(), "by": getattr(actor, "name", None) or "系统", "action": action}
    if note:
        entry["note"] = note
    alert.actions = [*(alert.actions or []), entry]


def close(alert: Alert, actor, closure: str) -> Alert:
    """处置: the owner (or a leader/city user whose scope holds the alert) closes it with a note."""
    if alert.status != "open":
        raise Conflict("该预警已处置")
    if not (closure or "").strip():
        raise ValidationFailed("请填写处置情况", errors={"closure": "请填写处置情况"})
    org = db.session.get(Organisation, alert.org_id)
    allowed = alert.owner_id == actor.id or (
        scope_for(actor).contains(org) and (actor.is_leader or scope_for(actor).all)
    )
    if not allowed:
        raise PermissionDenied("只有预警责任人或上级领导可以处置")
    alert.status, alert.closed_at, alert.closed_by_id, alert.closure = "closed", utcnow(), actor.id, closure.strip()
    _log(alert, actor, "处置", closure.strip())
    audit.record("alert.close", actor=actor, object_type="alert", object_id=alert.id, detail={"kind": alert.kind})
    return alert


def close_for(*, closure: str, clue_id: int | None = None, plan_id: int | None = None, task_id: int | None = None):
    """Close the open alerts about an object that no longer needs them (automatic closure record)."""
    stmt = select(Alert).where(Alert.status == "open")
    if clue_id:
        stmt = stmt.where(Alert.clue_id == clue_id)
    if plan_id:
        stmt = stmt.where(Alert.plan_id == plan_id)
    if task_id:
        stmt = stmt.where(Alert.task_id == task_id)
    count = 0
    for alert in db.session.scalars(stmt):
        alert.status, alert.closed_at, alert.closure = "closed", utcnow(), closure
        _log(alert, None, "自动关闭", closure)
        count += 1
    return count


def visible_alerts(user, *, status: str = "open", kind: str | None = None) -> Select:
    scope = scope_for(user)
    stmt = select(Alert).where(or_(scope.org_clause(Alert.org_id), Alert.owner_id == user.id), Alert.status == status)
    if kind:
        stmt = stmt.where(Alert.kind == kind)
    order = Alert.created_at.desc() if status == "open" else Alert.closed_at.desc()
    return stmt.order_by(order, Alert.id.desc())


def get_alert(alert_id: int, user) -> Alert:
    from app.errors import NotFound

    alert = db.session.get(Alert, alert_id)
    if alert is None or not (
        alert.owner_id == user.id or scope_for(user).contains(db.session.get(Organisation, alert.org_id))
    ):
        raise NotFound("预警不存在或不在您的数据范围内")
    return alert


# ---------------------------------------------------------------------------------------------
# the task board


@dataclass
class BoardRow:
    task: HumanTask
    level: str  # red / yellow / green
    holder: str
    org: Organisation


def level_of(due_at: datetime | None, now: datetime) -> str:
    if due_at is None:
        return "green"
    if due_at <= now:
        return "red"
    return "yellow" if due_at <= now + SOON else "green"


def task_board(
    user,
    *,
    now: datetime | None = None,
    level: str | None = None,
    org_id: int | None = None,
    process_id: str | None = None,
    limit: int = 500,
) -> list[BoardRow]:
    """Open tasks with a deadline in the user's scope (or held by them), most urgent first."""
    now = now or utcnow()
    scope = scope_for(user)
    stmt = (
        select(HumanTask)
        .where(
            HumanTask.status == "open",
            HumanTask.due_at.is_not(None),
            or_(scope.org_clause(HumanTask.org_id), HumanTask.assignee_id == user.id),
        )
        .order_by(HumanTask.due_at, HumanTask.id)
    )
    if level == "red":
        stmt = stmt.where(HumanTask.due_at <= now)
    elif level == "yellow":
        stmt = stmt.where(and_(HumanTask.due_at > now, HumanTask.due_at <= now + SOON))
    elif level == "green":
        stmt = stmt.where(HumanTask.due_at > now + SOON)
    if org_id:
        stmt = stmt.where(HumanTask.org_id == org_id)
    if process_id:
        stmt = stmt.where(HumanTask.process_id == process_id)
    rows = list(db.session.scalars(stmt.limit(limit)))
    from app.auth.models import Role

    role_names = dict(db.session.execute(select(Role.code, Role.name)).all())
    orgs = {
        o.id: o for o in db.session.scalars(select(Organisation).where(Organisation.id.in_({r.org_id for r in rows})))
    }
    out = []
    for r in rows:
        holder = r.assignee.name if r.assignee else f"角色：{role_names.get(r.candidate_role, r.candidate_role)}"
        out.append(BoardRow(task=r, level=level_of(r.due_at, now), holder=holder, org=orgs.get(r.org_id)))
    return out


def summarise(rows: list[BoardRow]) -> dict:
    """Counts by level, by organisation and by person (for the board's summary tables)."""
    levels = {"red": 0, "yellow": 0, "green": 0}
    by_org: dict[str, dict[str, int]] = {}
    by_person: dict[str, dict[str, int]] = {}
    for r in rows:
        levels[r.level] += 1
        org_name = (r.org.short_name or r.org.name) if r.org else "—"
        by_org.setdefault(org_name, {"red": 0, "yellow": 0, "green": 0})[r.level] += 1
        by_person.setdefault(r.holder, {"red": 0, "yellow": 0, "green": 0})[r.level] += 1
    return {"levels": levels, "by_org": by_org, "by_person": by_person}


def _task_alert(row: HumanTask, now: datetime) -> Alert:
    org = db.session.get(Organisation, row.org_id)
    return raise_alert(
        "task_overdue",
        org=org,
        title=f"{row.instance.title} - {row.step_name}",
        level=level_of(row.due_at, now) if row.due_at and row.due_at <= now + SOON else "yellow",
        task_id=row.id,
        instance_id=row.instance_id,
        url=f"/inbox/tasks/{row.id}",
        notify_owner=False,
    )


def urge_task(row: HumanTask, actor, note: str | None = None) -> int:
    """催办 from the board (app.inbox.collab.urge), recorded on the task's alert."""
    count = collab.urge(row, actor, note=note)
    _log(_task_alert(row, utcnow()), actor, "催办", note)
    return count


def escalate_task(row: HumanTask, actor, note: str | None = None) -> User:
    """升级: hand the task to the leader of the organisation holding it, recorded on the task's alert."""
    if row.status != "open":
        raise Conflict("该任务已处理，无需升级")
    org = db.session.get(Organisation, row.org_id)
    scope = scope_for(actor)
    if not (actor.can("process.admin") or (scope.contains(org) and (actor.is_leader or scope.all))):
        raise PermissionDenied("只有上级领导或流程管理员可以升级任务")
    holder = db.session.get(User, row.assignee_id) if row.assignee_id else None
    base = holder.org if holder is not None else org
    leaders = [u for u in assign.leaders_of(base) if u.id != row.assignee_id] or [
        u for u in assign.leaders_of(base, 1) if u.id != row.assignee_id
    ]
    if not leaders:
        raise Conflict("没有可升级的上级领导")
    leader = leaders[0]
    row.assignee_id, row.candidate_role = leader.id, None
    row.instance.updated_at = utcnow()
    notify.notify(
        [leader],
        kind="escalate",
        title=f"任务升级：{row.instance.title} - {row.step_name}",
        body=note,
        url=f"/inbox/tasks/{row.id}",
        instance_id=row.instance_id,
    )
    runtime.add_event(
        row.instance,
        "escalate",
        actor=actor,
        step=row.step,
        step_name=row.step_name,
        comment=f"预警中心升级给{leader.name}" + (f"：{note}" if note else ""),
        data={"to": leader.login},
    )
    _log(_task_alert(row, utcnow()), actor, "升级", f"升级给{leader.name}" + (f"：{note}" if note else ""))
    audit.record("task.escalate", actor=actor, object_type="task", object_id=row.id, detail={"to": leader.login})
    runtime.flush_or_conflict()
    return leader


def sweep(now: datetime) -> int:
    """Close task alerts whose task is no longer open (done, returned, cancelled)."""
    stmt = (
        select(Alert)
        .join(HumanTask, HumanTask.id == Alert.task_id)
        .where(Alert.status == "open", HumanTask.status != "open")
    )
    count = 0
    for alert in db.session.scalars(stmt):
        alert.status, alert.closed_at, alert.closure = "closed", now, "任务已办理，预警自动关闭"
        _log(alert, None, "自动关闭", "任务已办理")
        count += 1
    return count
