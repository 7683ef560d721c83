"""Abnormal-flow warnings of clues (R2.3.3): sent back more than twice, stalled, past the deadline.

Each becomes an alert (app.alerts) owned by the leader of the unit handling the clue, closed by
handling it (or automatically when the clue closes). `scan` is a scheduler-round job with an
explicit `now`, so tests drive it with any clock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app.alerts import services as alerts
from app.clues.models import OPEN_STATUSES, Clue
from app.engine.calendar import get_calendar
from app.engine.models import InstanceEvent, ProcessInstance
from app.extensions import db

MAX_RETURNS = 2
STALL_WORKING_DAYS = 5


def _org(clue: Clue):
    return clue.handling_org or clue.district_org


def returns_of(clue: Clue) -> int:
    """Report send-backs plus generic 退回 acts on the clue's instance."""
    generic = 0
    if clue.instance_id:
        generic = (
            db.session.scalar(
                select(func.count(InstanceEvent.id)).where(
                    InstanceEvent.instance_id == clue.instance_id, InstanceEvent.kind == "return"
                )
            )
            or 0
        )
    return clue.returns_count + generic


def check_returns(clue: Clue):
    count = returns_of(clue)
    if count <= MAX_RETURNS:
        return None
    return alerts.raise_alert(
        "clue_returned",
        org=_org(clue),
        level="red",
        title=f"线索 {clue.number} 已被退回 {count} 次",
        detail="调查报告多次被退回修改，请督促承办单位按审核意见办理。",
        clue_id=clue.id,
        instance_id=clue.instance_id,
        url=f"/clues/{clue.id}",
    )


def scan(now: datetime) -> int:
    """Raise alerts for open clues that stalled (no step for 5 working days) or passed their deadline."""
    calendar = get_calendar()
    local_today = now.astimezone(calendar_tz()).date()
    raised = 0
    stmt = (
        select(Clue, ProcessInstance.updated_at)
        .join(ProcessInstance, ProcessInstance.id == Clue.instance_id)
        .where(Clue.status.in_(OPEN_STATUSES))
    )
    for clue, updated_at in db.session.execute(stmt):
        if clue.deadline and clue.deadline < local_today:
            alerts.raise_alert(
                "clue_overdue",
                org=_org(clue),
                level="red",
                title=f"线索 {clue.number} 已超过办理期限（{clue.deadline:%Y-%m-%d}）",
                clue_id=clue.id,
                instance_id=clue.instance_id,
                url=f"/clues/{clue.id}",
            )
            raised += 1
        idle = calendar.working_days_between(updated_at.astimezone(calendar_tz()).date(), local_today)
        if idle >= STALL_WORKING_DAYS:
            alerts.raise_alert(
                "clue_stalled",
                org=_org(clue),
                title=f"线索 {clue.number} 已 {idle} 个工作日无进展",
                detail=f"当前环节：{clue.status_label}",
                clue_id=clue.id,
                instance_id=clue.instance_id,
                url=f"/clues/{clue.id}",
            )
            raised += 1
    return raised


def calendar_tz():
    from app.engine.runtime import SHANGHAI

    return SHANGHAI
