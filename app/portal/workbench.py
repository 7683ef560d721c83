"""工作台: what a person should do next: my 待办 with overdue / soon-due counts and the next three tasks (one
statement), the notifications that matter, clues I follow, open alerts in my scope, the processes I may start,
and for leaders the overdue tasks of the units in their scope.

It is the first page after every login and one of the most visited, so it is cheap: the counts and the next
tasks come from one windowed query that reads only the columns shown (never an instance's workflow
document); the alert count and the first alerts are one statement; and what may lag a few seconds without
harm (alerts in scope, per-unit totals, the processes one may start) is kept per person for
WORKBENCH_CACHE_SECONDS in this process. My own 待办, notifications and followed clues are always fresh.
"""

from __future__ import annotations

import threading
import time
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import case, func, over, select

from app.extensions import db
from app.models_base import utcnow
from app.security.scope import scope_for

SOON = timedelta(days=1)
CACHE_LIMIT = 4096  # entries (people x parts); expired entries are dropped when it is reached

NextTask = namedtuple("NextTask", "id step_name due_at title")
AlertLine = namedtuple("AlertLine", "id level title")
Startable = namedtuple("Startable", "process_id name")

_cache: dict[tuple, tuple[float, object]] = {}
_cache_lock = threading.Lock()


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
    now = utcnow()
    wb = Workbench()
    _todo(user, wb, now)
    if user.can("inbox.use"):
        from app.inbox.notify import matters

        wb.matters = matters(user.id)
        _clues(user, wb)
        wb.alert_count, wb.alerts = _cached(user, "alerts", lambda: _alerts(user))
        if user.can("process.start"):
            wb.startable = _cached(user, "startable", lambda: _startable(user))
    if user.is_leader:
        wb.units = _cached(user, "units", lambda: _units(user, now))
    return wb


def forget() -> None:
    """Drop every cached part (tests; a process that changed what the cache holds)."""
    with _cache_lock:
        _cache.clear()


def _cached(user, part: str, compute):
    seconds = float(current_app.config.get("WORKBENCH_CACHE_SECONDS", 0) or 0)
    if seconds <= 0:
        return compute()
    scope = scope_for(user)
    key = (part, user.id, scope.all, scope.path, tuple(sorted(user.role_codes)))
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = compute()
    with _cache_lock:
        if len(_cache) >= CACHE_LIMIT:
            for stale in [k for k, (until, _) in _cache.items() if until <= now] or list(_cache)[: CACHE_LIMIT // 2]:
                _cache.pop(stale, None)
        _cache[key] = (now + seconds, value)
    return value


def _todo(user, wb: Workbench, now) -> None:
    """My open tasks: the count, overdue and soon-due counts and the next three, in one statement.

    Window aggregates are computed over every actionable row before LIMIT, so the first row carries the
    totals; no row means nothing to do."""
    from app.engine.models import ProcessInstance
    from app.inbox.models import HumanTask
    from app.inbox.queries import actionable_clause

    due = HumanTask.due_at
    stmt = (
        select(
            HumanTask.id,
            HumanTask.step_name,
            due,
            ProcessInstance.title,
            over(func.count()),
            over(func.sum(case((due < now, 1), else_=0))),
            over(func.sum(case(((due >= now) & (due < now + SOON), 1), else_=0))),
        )
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(actionable_clause(user))
        .order_by(due.is_(None), due, HumanTask.priority, HumanTask.id)
        .limit(3)
    )
    rows = db.session.execute(stmt).all()
    if rows:
        wb.todo, wb.overdue, wb.soon = (int(v or 0) for v in rows[0][4:])
    wb.next_tasks = [NextTask(*row[:4]) for row in rows]


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


def _alerts(user) -> tuple[int, list[AlertLine]]:
    """The number of open alerts in scope and the newest three, in one statement."""
    from app.alerts.models import Alert
    from app.alerts.services import visible_alerts

    stmt = visible_alerts(user).with_only_columns(Alert.id, Alert.level, Alert.title, over(func.count())).limit(3)
    rows = db.session.execute(stmt).all()
    return (int(rows[0][3]) if rows else 0), [AlertLine(*row[:3]) for row in rows]


def _startable(user) -> list[Startable]:
    from app.inbox.services import startable

    return [Startable(m.process_id, m.name) for m in startable(user)[:8]]


def _units(user, now) -> list[tuple[str, int, int]]:
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
    return [(name, total, late or 0) for name, total, late in db.session.execute(stmt)]
