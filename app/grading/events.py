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
    """Once a day in the night window (Asia/Shanghai, from GRADING_NIGHTLY_HOUR for
    GRADING_NIGHTLY_WINDOW hours): recompute all grades, auto labels, expiries, snapshot.

    Not at a scheduler start in the day: on the 3-year data set the recompute is a minute of CPU, and it
    ran in the middle of the R7.3 load after a restart. A night the scheduler was down is made up the
    next night (an administrator can recompute at once from the grading page). The work runs in the job
    worker when there is one (app/engine/cli.py `heavy`); here the result, when it ran in this process."""
    from app.engine.cli import heavy

    local = now.astimezone(SHANGHAI)
    start = int(current_app.config.get("GRADING_NIGHTLY_HOUR", 1))
    window = int(current_app.config.get("GRADING_NIGHTLY_WINDOW", 4))
    if not start <= local.hour < start + window:
        return None
    mark = _mark("grading.nightly")
    day = local.date().isoformat()
    if mark.last_day == day:
        return None
    mark.last_day, mark.detail = day, {"state": "queued"}
    db.session.flush()
    return heavy("grading.nightly", nightly_work, day)


def nightly_work(day: str) -> dict:
    """The nightly recompute itself, for the day `day` (ISO date)."""
    from datetime import date

    from app.grading.services import recompute, snapshot
    from app.labels.services import apply_auto_labels, expire_labels

    today = date.fromisoformat(day)
    result = recompute(reason=f"每日重算 {day}", today=today)
    result["labels"] = apply_auto_labels(today=today)
    result["expired"] = expire_labels(today)
    result["snapshot_rows"] = snapshot(today.strftime("%Y-%m"))
    mark = _mark("grading.nightly")
    mark.last_day, mark.detail = day, result
    db.session.flush()
    log.info("nightly grading: %s", result)
    return result


def last_nightly() -> JobMark | None:
    return db.session.scalar(select(JobMark).where(JobMark.name == "grading.nightly"))
