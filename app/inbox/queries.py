"""Inbox queries: who may see and act on which task, and the tab lists (filters are in the SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import joinedload

from app.auth.models import User
from app.engine.models import ProcessInstance
from app.errors import NotFound
from app.extensions import db
from app.inbox.models import CarbonCopy, HumanTask
from app.models_base import utcnow
from app.security.scope import scope_for


def actionable_clause(user: User):
    """Open rows this user may act on: assigned to them, or offered to a role they hold within scope."""
    roles = sorted(user.role_codes)
    scope = scope_for(user)
    by_role = (
        and_(HumanTask.assignee_id.is_(None), HumanTask.candidate_role.in_(roles), scope.org_clause(HumanTask.org_id))
        if roles
        else False
    )
    return and_(HumanTask.status == "open", or_(HumanTask.assignee_id == user.id, by_role))


def can_act(user: User, row: HumanTask) -> bool:
    if row.status != "open":
        return False
    if row.assignee_id is not None:
        return row.assignee_id == user.id
    return row.candidate_role in user.role_codes and scope_for(user).contains(row_org(row))


def row_org(row: HumanTask):
    from app.orgs.models import Organisation

    return db.session.get(Organisation, row.org_id)


def involved_clause(user: User):
    """Instances a user is involved in: started, acted on, copied to, or may act on now."""
    acted = select(HumanTask.instance_id).where(
        or_(HumanTask.completed_by_id == user.id, HumanTask.assignee_id == user.id)
    )
    copied = select(CarbonCopy.instance_id).where(CarbonCopy.user_id == user.id)
    actionable = select(HumanTask.instance_id).where(actionable_clause(user))
    return or_(
        ProcessInstance.initiator_id == user.id,
        ProcessInstance.id.in_(acted),
        ProcessInstance.id.in_(copied),
        ProcessInstance.id.in_(actionable),
    )


def can_view_instance(user: User, instance: ProcessInstance) -> bool:
    """Involved people, and people whose scope holds the instance's organisation (R2.1.7 rules are applied
    by the domain modules on top: an in-progress confidential case narrows this further)."""
    if instance.initiator_id == user.id:
        return True
    from app.orgs.models import Organisation

    if scope_for(user).contains(db.session.get(Organisation, instance.org_id)) and (
        user.can("inbox.use") or user.can("process.admin")
    ):
        return True
    stmt = (
        select(func.count())
        .select_from(ProcessInstance)
        .where(ProcessInstance.id == instance.id, involved_clause(user))
    )
    return bool(db.session.scalar(stmt))


def get_task(task_id: int) -> HumanTask:
    row = db.session.get(HumanTask, task_id)
    if row is None:
        raise NotFound("任务不存在或已被删除")
    return row


@dataclass
class Filters:
    process: str | None = None
    status: str | None = None  # overdue / due_soon / normal
    priority: int | None = None
    org_id: int | None = None
    q: str | None = None
    sort: str = "created_desc"


SORTS = {
    "created_desc": (HumanTask.created_at.desc(), HumanTask.id.desc()),
    "created_asc": (HumanTask.created_at.asc(), HumanTask.id.asc()),
    "due_asc": (HumanTask.due_at.is_(None), HumanTask.due_at.asc(), HumanTask.id.asc()),
    "priority": (HumanTask.priority.asc(), HumanTask.created_at.desc(), HumanTask.id.desc()),
    "done_desc": (HumanTask.completed_at.desc(), HumanTask.id.desc()),
}


def _apply_filters(stmt: Select, f: Filters, *, now: datetime) -> Select:
    if f.process:
        stmt = stmt.where(HumanTask.process_id == f.process)
    if f.priority:
        stmt = stmt.where(HumanTask.priority == f.priority)
    if f.org_id:
        stmt = stmt.where(HumanTask.org_id == f.org_id)
    if f.status == "overdue":
        stmt = stmt.where(HumanTask.due_at.is_not(None), HumanTask.due_at < now)
    elif f.status == "due_soon":
        stmt = stmt.where(HumanTask.due_at >= now, HumanTask.due_at < now + timedelta(days=1))
    elif f.status == "normal":
        stmt = stmt.where(or_(HumanTask.due_at.is_(None), HumanTask.due_at >= now + timedelta(days=1)))
    if f.q:
        like = f"%{f.q}%"
        stmt = stmt.where(
            or_(ProcessInstance.title.like(like), ProcessInstance.number.like(like), HumanTask.step_name.like(like))
        )
    return stmt


# A list shows its rows' instances (title, number, status), never their workflow document: a page of 20 rows
# would read and parse 20 documents of 5-10 KB. Code that runs the engine on such a row loads it then.
_WITHOUT_STATE = joinedload(HumanTask.instance).defer(ProcessInstance.state)

# The 待办 statements built last, per user, roles, scope and filters (not the due-date filters: they hold the
# time). The list is the most frequent request of all and building its statement (and SQLAlchemy's cache
# key for it) cost more than running it; a statement reused is neither built nor keyed again.
_todo_built: dict[tuple, Select] = {}
TODO_KEPT = 2000


def todo(user: User, f: Filters) -> Select:
    key = None
    if f.status is None:
        key = (user.id, tuple(sorted(user.role_codes)), scope_for(user), f.process, f.priority, f.org_id, f.q, f.sort)
        stmt = _todo_built.get(key)
        if stmt is not None:
            return stmt
    stmt = select(HumanTask).join(HumanTask.instance).where(actionable_clause(user)).options(_WITHOUT_STATE)
    stmt = _apply_filters(stmt, f, now=utcnow())
    stmt = stmt.order_by(*SORTS.get(f.sort, SORTS["created_desc"]))
    if key is not None:
        if len(_todo_built) >= TODO_KEPT:
            _todo_built.clear()
        _todo_built[key] = stmt
    return stmt


def done(user: User, f: Filters) -> Select:
    """已办: rows this user completed themselves (never another approver's decision in the same group)."""
    stmt = (
        select(HumanTask)
        .join(HumanTask.instance)
        .where(HumanTask.completed_by_id == user.id, HumanTask.status == "completed")
        .options(_WITHOUT_STATE)
    )
    stmt = _apply_filters(stmt, f, now=utcnow())
    order = SORTS["done_desc"] if f.sort == "created_desc" else SORTS.get(f.sort, SORTS["done_desc"])
    return stmt.order_by(*order)


def started(user: User, f: Filters) -> Select:
    stmt = select(ProcessInstance).where(ProcessInstance.initiator_id == user.id)
    if f.process:
        stmt = stmt.where(ProcessInstance.process_id == f.process)
    if f.q:
        like = f"%{f.q}%"
        stmt = stmt.where(or_(ProcessInstance.title.like(like), ProcessInstance.number.like(like)))
    return stmt.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())


def copied(user: User, f: Filters) -> Select:
    stmt = select(CarbonCopy).join(CarbonCopy.instance).where(CarbonCopy.user_id == user.id)
    if f.process:
        stmt = stmt.where(ProcessInstance.process_id == f.process)
    if f.q:
        stmt = stmt.where(ProcessInstance.title.like(f"%{f.q}%"))
    return stmt.order_by(CarbonCopy.created_at.desc(), CarbonCopy.id.desc())


def counts(user: User) -> dict[str, int]:
    todo_count = db.session.scalar(select(func.count(HumanTask.id)).where(actionable_clause(user))) or 0
    unread_cc = (
        db.session.scalar(
            select(func.count(CarbonCopy.id)).where(CarbonCopy.user_id == user.id, CarbonCopy.read_at.is_(None))
        )
        or 0
    )
    return {"todo": todo_count, "cc_unread": unread_cc}


def todo_count(user: User) -> int:
    return db.session.scalar(select(func.count(HumanTask.id)).where(actionable_clause(user))) or 0
