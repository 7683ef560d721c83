"""Events that move a score at once (incremental recompute of one enterprise) and the nightly job."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from app.engine.runtime import SHANGHAI
from app.extensions import db
from app.grading.models import JobMark

log = logging.getLogger(__name__)
GRADED_KINDS = {"accident", "violation", "complaint", "major_hazard", "standardisation", "insurance"}


def enterprise_changed(enterprise_id: int | None, reason: str) -> dict | None:
    """Recompute one enterprise now (a clue closed as 属实, an accident, a dispatch closed)."""
    from app.grading.services import recompute

    if not enterprise_id:
        return None
    return recompute([int(enterprise_id)], reason=reason)


def clue_closed(clue) -> None:
    """Called when a clue closes: a 属实 / 部分属实 clue about a known enterprise moves its score."""
    if clue.enterprise_id and clue.outcome in ("substantiated", "partly"):
        enterprise_changed(clue.enterprise_id, f"线索核查属实：{clue.number or clue.id}")


def _mark(name: str) -> JobMark:
    mark = db.session.get(JobMark, name)
    if mark is None:
        mark = JobMark(name=name, last_day="", detail={})
        db.session.add(mark)
    return mark


def nightly(now: datetime) -> dict | None:
    """Once a day after NIGHTLY_HOUR (Asia/Shanghai): recompute all grades, auto labels, expiries, snapshot.

    Runs in the scheduler round (a missed night runs at the first round after the hour)."""
    from app.grading.services import recompute, snapshot
    from app.labels.services import apply_auto_labels, expire_labels

    local = now.astimezone(SHANGHAI)
    if local.hour < int(current_app.config.get("GRADING_NIGHTLY_HOUR", 1)):
        return None
    mark = _mark("grading.nightly")
    day = local.date().isoformat()
    if mark.last_day == day:
        return None
    result = recompute(reason=f"每日重算 {day}", today=local.date())
    result["labels"] = apply_auto_labels(today=local.date())
    result["expired"] = expire_labels(local.date())
    result["snapshot_rows"] = snapshot(local.strftime("%Y-%m"))
    mark.last_day, mark.detail = day, result
    db.session.flush()
    log.info("nightly grading: %s", result)
    return result


def last_nightly() -> JobMark | None:
    return db.session.scalar(select(JobMark).where(JobMark.name == "grading.nightly"))
