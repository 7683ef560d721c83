"""Timers: the scheduler job that claims due instances, fires their timers, and catches up.

`next_timer_at` (indexed) holds each running instance's earliest WAITING timer. The job selects
due instances (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several app processes can run it),
fires each in its own transaction, and records a heartbeat. An instance whose timer fired is saved
with its new state in the same commit, so a crash before the commit fires it again, once in effect.
After downtime the first run finds everything overdue and fires it: that is the catch-up.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime

from sqlalchemy import select

from app.engine import runtime
from app.engine.models import ProcessInstance, SchedulerHeartbeat
from app.extensions import db
from app.models_base import utcnow

log = logging.getLogger(__name__)
BATCH = 50


def _claim_next(now: datetime, skip: set[int]) -> int | None:
    """The most overdue instance nobody else holds, locked until this transaction ends (PostgreSQL).

    One at a time, inside the transaction that fires it: a second scheduler skips the locked row and
    takes the next, so two schedulers never fire the same timer. (Claiming a batch first and committing
    per instance would release the other claims at the first commit.) SQLite has one writer at a time,
    and the instance's version column turns a lost race into a rollback.
    """
    stmt = (
        select(ProcessInstance.id)
        .where(
            ProcessInstance.status == "running",
            ProcessInstance.next_timer_at.is_not(None),
            ProcessInstance.next_timer_at <= now,
        )
        .order_by(ProcessInstance.next_timer_at)
        .limit(1)
    )
    if skip:
        stmt = stmt.where(ProcessInstance.id.not_in(skip))
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return db.session.scalar(stmt)


def fire_due(now: datetime | None = None, limit: int = BATCH) -> int:
    """Fire the timers that are due (at most `limit` instances); one commit per instance. Returns how many fired."""
    now = now or utcnow()
    fired = 0
    tried: set[int] = set()
    for _ in range(limit):
        instance_id = _claim_next(now, tried)
        if instance_id is None:
            db.session.rollback()
            break
        tried.add(instance_id)
        instance = db.session.get(ProcessInstance, instance_id)
        try:
            moved = runtime.fire_timers(instance)
            if not moved and instance.next_timer_at and instance.next_timer_at <= now:
                # Due by our clock but not by the engine's (e.g. rounding): look again shortly.
                log.info("instance %s timer not yet due in engine", instance_id)
            db.session.commit()
            fired += 1 if moved else 0
        except Exception:
            db.session.rollback()
            log.exception("timer of instance %s failed", instance_id)
    return fired


def heartbeat(fired: int) -> None:
    node = f"{socket.gethostname()}:{os.getpid()}"
    beat = db.session.scalar(select(SchedulerHeartbeat).where(SchedulerHeartbeat.node == node))
    if beat is None:
        beat = SchedulerHeartbeat(node=node, beat_at=utcnow(), fired_total=0)
        db.session.add(beat)
    beat.beat_at = utcnow()
    beat.fired_total += fired
    db.session.commit()


def scheduler_state() -> dict:
    beat = db.session.scalar(select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.beat_at.desc()).limit(1))
    if beat is None:
        return {"running": False, "heartbeat": None}
    age = (utcnow() - beat.beat_at).total_seconds()
    return {
        "running": age < 60,
        "heartbeat": beat.beat_at.isoformat(),
        "node": beat.node,
        "fired_total": beat.fired_total,
    }
