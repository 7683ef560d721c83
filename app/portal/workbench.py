"""工作台: what a person should do next, in one query each: my 待办 with overdue / soon-due counts and the next
three tasks, clues I follow, open alerts in my scope, the processes I may start, and for leaders the
overdue tasks of the units in their scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import case, func, select

from app.extensions import db
from app.models_base import utcnow
from app.security.scope import scope_for

SOON = timedelta(days=1)


@dataclass
class Workbench:
    todo: int = 0
    overdue: int = 0
    soon: int = 0
    next_tasks: list = field(default_factory=list)
    clues: list = field(default_factory=list)
    alerts: list = field(default_factory=list)
    alert_count: int = 0
    startable: list = field(default_factory=list)
    units: list = field(default_factory=list)  # (organisation name, open, overdue) for leaders
    matters: list = field(default_factory=list)  # notifications that matter: my clue accepted, returned, ...


def build(user) -> Workbench:
    from app.inbox.models import HumanTask
    from app.inbox.queries import actionable_clause

    now = utcnow()
    wb = Workbench()
    mine = select(HumanTask).join(HumanTask.instance).where(actionable_clause(user))
    due = mine.with_only_columns(HumanTask.due_at).subquery().c.due_at
    counts = db.session.execute(
        select(
            func.count(),
            func.sum(case((due < now, 1), else_=0)),
            func.sum(case(((due >= now) & (due < now + SOON), 1), else_=0)),
        )
    ).one()
    wb.todo, wb.overdue, wb.soon = counts[0] or 0, counts[1] or 0, counts[2] or 0
    wb.next_tasks = list(
        db.session.scalars(
            mine.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.priority, HumanTask.id).limit(3)
        )
    )
    if user.can("inbox.use"):
        from app.inbox.notify import matters

        wb.matters = matters(user.id)
        _clues(user, wb)
        _alerts(user, wb)
        if user.can("process.start"):
            from app.inbox.services import startable

            wb.startable = startable(user)[:8]
    if user.is_leader:
        _units(user, wb, now)
    return wb


def _clues(user, wb: Workbench) -> None:
    from app.clues.models import Clue, ClueFollow

    wb.clues = list(
        db.session.scalars(
            select(Clue)
            .join(ClueFollow, ClueFollow.clue_id == Clue.id)
            .where(ClueFollow.user_id == user.id)
            .order_by(Clue.id.desc())
            .limit(5)
        )
    )


def _alerts(user, wb: Workbench) -> None:
    from app.alerts.services import visible_alerts

    stmt = visible_alerts(user)
    wb.alert_count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    wb.alerts = list(db.session.scalars(stmt.limit(3)))


def _units(user, wb: Workbench, now) -> None:
    """Open and overdue tasks per organisation in the leader's scope, the most overdue first."""
    from app.inbox.models import HumanTask
    from app.orgs.models import Organisation

    overdue = func.sum(case((HumanTask.due_at < now, 1), else_=0))
    stmt = (
        select(Organisation.name, func.count(HumanTask.id), overdue)
        .join(Organisation, Organisation.id == HumanTask.org_id)
        .where(HumanTask.status == "open")
        .group_by(Organisation.id, Organisation.name)
        .order_by(overdue.desc(), func.count(HumanTask.id).desc())
        .limit(8)
    )
    stmt = scope_for(user).filter_org(stmt, HumanTask.org_id)
    wb.units = [(name, total, late or 0) for name, total, late in db.session.execute(stmt)]
