"""Figures over process instances and tasks, always inside the user's data scope."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select

from app.engine.models import ProcessInstance, ProcessModel
from app.extensions import db
from app.inbox.models import HumanTask
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.portal import params
from app.security.scope import DataScope

SHANGHAI = ZoneInfo("Asia/Shanghai")


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The month in Asia/Shanghai as UTC bounds [start, end)."""
    start = datetime(year, month, 1, tzinfo=SHANGHAI)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC)


def parse_month(text: str | None) -> tuple[int, int]:
    """The month asked for (YYYY-MM, inside the supported range), or last month."""
    if not text:
        today = datetime.now(SHANGHAI).date().replace(day=1)
        prev = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
        return prev.year, prev.month
    return params.month(text)


def _shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _count(scope: DataScope, column, start, end, *extra) -> int:
    stmt = select(func.count(ProcessInstance.id)).where(column >= start, column < end, *extra)
    return db.session.scalar(scope.filter_org(stmt, ProcessInstance.org_id)) or 0


def _tasks_done(scope: DataScope, start, end) -> int:
    stmt = select(func.count(HumanTask.id)).where(
        HumanTask.status == "completed", HumanTask.completed_at >= start, HumanTask.completed_at < end
    )
    return db.session.scalar(scope.filter_org(stmt, HumanTask.org_id)) or 0


def _overdue_done(scope: DataScope, start, end) -> int:
    stmt = select(func.count(HumanTask.id)).where(
        HumanTask.status == "completed",
        HumanTask.completed_at >= start,
        HumanTask.completed_at < end,
        HumanTask.due_at.is_not(None),
        HumanTask.completed_at > HumanTask.due_at,
    )
    return db.session.scalar(scope.filter_org(stmt, HumanTask.org_id)) or 0


def figures(scope: DataScope, year: int, month: int) -> dict:
    start, end = month_bounds(year, month)
    started = _count(scope, ProcessInstance.started_at, start, end)
    ended = _count(scope, ProcessInstance.ended_at, start, end, ProcessInstance.status == "completed")
    done = _tasks_done(scope, start, end)
    late = _overdue_done(scope, start, end)
    return {
        "started": started,
        "completed": ended,
        "tasks_done": done,
        "tasks_late": late,
        "on_time_rate": round(100 * (done - late) / done, 1) if done else None,
    }


def _change(now: int, before: int) -> float | None:
    return round(100 * (now - before) / before, 1) if before else None


def monthly(scope: DataScope, year: int, month: int) -> dict:
    """The month's figures with month-on-month (环比) and year-on-year (同比) changes, by process and org."""
    this = figures(scope, year, month)
    prev = figures(scope, *_shift(year, month, -1))
    last_year = figures(scope, year - 1, month)
    start, end = month_bounds(year, month)
    by_process = db.session.execute(
        scope.filter_org(
            select(ProcessModel.name, func.count(ProcessInstance.id))
            .join(ProcessModel, ProcessModel.process_id == ProcessInstance.process_id)
            .where(ProcessInstance.started_at >= start, ProcessInstance.started_at < end)
            .group_by(ProcessModel.name)
            .order_by(func.count(ProcessInstance.id).desc()),
            ProcessInstance.org_id,
        )
    ).all()
    overdue_now = db.session.execute(
        scope.filter_org(
            select(Organisation.name, func.count(HumanTask.id))
            .join(Organisation, Organisation.id == HumanTask.org_id)
            .where(HumanTask.status == "open", HumanTask.due_at.is_not(None), HumanTask.due_at < utcnow())
            .group_by(Organisation.name)
            .order_by(func.count(HumanTask.id).desc())
            .limit(10),
            HumanTask.org_id,
        )
    ).all()
    return {
        "year": year,
        "month": month,
        "figures": this,
        "previous": prev,
        "last_year": last_year,
        "mom": {k: _change(this[k], prev[k]) for k in ("started", "completed", "tasks_done")},
        "yoy": {k: _change(this[k], last_year[k]) for k in ("started", "completed", "tasks_done")},
        "by_process": [(name, n) for name, n in by_process],
        "overdue_by_org": [(name, n) for name, n in overdue_now],
    }


def trend(scope: DataScope, months: int = 12) -> dict:
    """Instances started and completed per month for the last `months` months (the chart)."""
    today = datetime.now(SHANGHAI)
    labels, started, completed = [], [], []
    for back in range(months - 1, -1, -1):
        y, m = _shift(today.year, today.month, -back)
        start, end = month_bounds(y, m)
        labels.append(f"{y}-{m:02d}")
        started.append(_count(scope, ProcessInstance.started_at, start, end))
        completed.append(
            _count(scope, ProcessInstance.ended_at, start, end, and_(ProcessInstance.status == "completed"))
        )
    return {"months": labels, "started": started, "completed": completed}
