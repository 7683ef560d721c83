"""Connect the engine to the Flask app: inbox badge, scheduler state, the DB-backed working calendar."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, has_app_context
from sqlalchemy import select

from app.engine import calendar
from app.extensions import db

_CACHE_SECONDS = 60
_lock = threading.Lock()
_cached: dict = {"at": 0.0, "calendar": None}


def _db_calendar() -> calendar.WorkCalendar:
    """The default calendar (from `holidays`) corrected by the administrators' calendar_days rows."""
    if not has_app_context():
        return calendar.default_calendar()
    now = time.monotonic()
    if _cached["calendar"] is not None and now - _cached["at"] < _CACHE_SECONDS:
        return _cached["calendar"]
    from app.engine.models import CalendarDay

    base = calendar.default_calendar()
    try:
        rows = db.session.execute(select(CalendarDay.day, CalendarDay.working)).all()
    except Exception:  # tables not created yet (first migration): the default calendar
        db.session.rollback()
        rows = []
    holidays = set(base.holidays) - {d for d, working in rows if working}
    holidays |= {d for d, working in rows if not working}
    workdays = (set(base.workdays) | {d for d, working in rows if working}) - {d for d, w in rows if not w}
    result = calendar.WorkCalendar(holidays, workdays)
    with _lock:
        _cached.update(at=now, calendar=result)
    return result


def invalidate_calendar() -> None:
    with _lock:
        _cached.update(at=0.0, calendar=None)


def unread_notifications(user) -> int:
    from sqlalchemy import func

    from app.inbox.models import Notification

    if not user.can("inbox.use"):
        return 0
    return (
        db.session.scalar(
            select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def init_engine(app: Flask) -> None:
    from app.engine.timers import scheduler_state
    from app.inbox.queries import todo_count

    app.extensions["ducha.inbox_count"] = lambda user: todo_count(user) if user.can("inbox.use") else 0
    app.extensions["ducha.scheduler_state"] = scheduler_state
    app.extensions["ducha.unread_notifications"] = unread_notifications
    calendar.set_calendar_provider(_db_calendar)
    # SpiffWorkflow logs every task state change at INFO: a dozen lines per act, thousands a minute in the
    # production log under load (bench/load.py). Keep its warnings, unless logging was set up explicitly.
    spiff_log = logging.getLogger("spiff")
    if spiff_log.level == logging.NOTSET:
        spiff_log.setLevel(logging.WARNING)
