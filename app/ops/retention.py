"""Retention purges, run by the scheduler as round jobs (once an hour each; several schedulers are safe).

- Audit entries older than AUDIT_RETENTION_DAYS (default 365; at least 180, the Cybersecurity Law's six
  months; 0 keeps everything) are deleted from the start of the chain, at most PURGE_BATCH per run. The
  last deleted entry's id and mac become a sealed anchor (app/audit/models.py AuditAnchor) from which
  `audit.services.verify` starts, so the chain still verifies and a cut at the start that is not a purge
  is still reported. Each purge writes an `audit.purged` entry (how many, up to which id, the cut-off).
- Ended sessions (logout, replaced, expired) and abandoned ones (not seen for SESSION_RETENTION_DAYS) are
  deleted after SESSION_RETENTION_DAYS (default 30); each purge that removed any writes `session.purged`.
- Export files (app/tabular/background.py: the XLSX/CSV that background exports leave for download) older
  than EXPORT_RETENTION_DAYS (default 7; 0 keeps them) are removed; the jobs that made them lose their
  download link and say the file was cleaned up. Each purge that removed any writes `export.purged`.
Video retention belongs to the storage layer (another module) and is not handled here.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.audit import services as audit
from app.audit.models import AuditAnchor, AuditEntry
from app.extensions import db
from app.ops.settings_check import MIN_AUDIT_RETENTION_DAYS

log = logging.getLogger(__name__)
PURGE_BATCH = 50_000
EVERY_SECONDS = 3600.0


def purge_audit(now: datetime, *, days: int | None = None, batch: int = PURGE_BATCH) -> int:
    """Delete audit entries older than `days` (config by default) from the chain's start; flush. Returns count."""
    days = current_app.config.get("AUDIT_RETENTION_DAYS", 0) if days is None else days
    if not days:
        return 0
    if days < MIN_AUDIT_RETENTION_DAYS:  # the database trigger refuses it too (PostgreSQL)
        raise ValueError(f"audit entries are kept at least {MIN_AUDIT_RETENTION_DAYS} days")
    cutoff = now - timedelta(days=days)
    first_kept = db.session.scalar(select(func.min(AuditEntry.id)).where(AuditEntry.at >= cutoff))
    oldest, newest = db.session.execute(select(func.min(AuditEntry.id), func.max(AuditEntry.id))).one()
    if oldest is None:
        return 0
    through = (first_kept - 1) if first_kept is not None else newest
    # The newest entry always stays: SQLite gives a new row the highest id + 1, so deleting the newest
    # would let the next entry reuse an id that the anchor already covers.
    through = min(through, oldest + batch - 1, newest - 1)
    if through < oldest:
        return 0
    last = db.session.get(AuditEntry, through)
    if last is None:  # a gap in the ids (a rolled-back insert): anchor on the last entry really there
        last = db.session.scalar(
            select(AuditEntry).where(AuditEntry.id <= through).order_by(AuditEntry.id.desc()).limit(1)
        )
        through = last.id
    key = current_app.config["AUDIT_KEY"]
    removed = db.session.execute(delete(AuditEntry).where(AuditEntry.id <= through)).rowcount or 0
    if not removed:
        return 0
    db.session.add(
        AuditAnchor(
            through_id=through,
            through_mac=last.mac,
            removed=removed,
            purged_at=now,
            seal=audit.anchor_seal(key, through, last.mac),
        )
    )
    db.session.flush()  # a twin purge by another scheduler fails here, before anything is recorded
    audit.record(
        "audit.purged",
        object_type="audit",
        object_id=through,
        detail={"removed": removed, "through_id": through, "older_than": cutoff.isoformat(), "days": days},
    )
    return removed


def purge_sessions(now: datetime, *, days: int | None = None) -> int:
    """Delete sessions ended (or last seen) more than `days` ago; flush. Returns count."""
    from app.security.models import UserSession

    days = current_app.config.get("SESSION_RETENTION_DAYS", 30) if days is None else days
    cutoff = now - timedelta(days=days)
    removed = (
        db.session.execute(
            delete(UserSession).where(
                or_(
                    UserSession.ended_at < cutoff,
                    UserSession.ended_at.is_(None) & (UserSession.last_seen_at < cutoff),
                )
            )
        ).rowcount
        or 0
    )
    if removed:
        audit.record(
            "session.purged", object_type="session", detail={"removed": removed, "older_than": cutoff.isoformat()}
        )
        db.session.flush()
    return removed


EXPORT_EXPIRED = "导出文件已超过保存期限并已清理，请重新导出"


def purge_exports(now: datetime, *, days: int | None = None) -> int:
    """Remove export files older than `days` (config by default) and unlink their jobs; flush. Returns count.
    Idempotent: a file already gone (another scheduler, a restart mid-purge) is skipped, and a job whose file
    is gone is marked on the next pass."""
    from app.reports.models import Job
    from app.tabular import background

    days = current_app.config.get("EXPORT_RETENTION_DAYS", 7) if days is None else days
    if not days:
        return 0
    cutoff = now - timedelta(days=days)
    removed = []
    for name, modified in list(background.stored_exports()):
        if modified is not None and modified < cutoff and background.remove_export(name):
            removed.append(name)
    stale = db.session.scalars(
        select(Job).where(
            Job.kind.like("export.%"),
            Job.status == "done",
            Job.finished_at < cutoff,
            or_(Job.message.is_(None), Job.message != EXPORT_EXPIRED),
        )
    )
    for job in stale:
        stored = (job.result_url or "").split("?")[0].rsplit("/", 1)[-1]
        if stored and background.export_exists(stored):
            if not background.remove_export(stored):  # a store without file times: by the job's age
                continue
            removed.append(stored)
        job.result = {**(job.result or {}), "url": None, "expired": True}
        job.message = EXPORT_EXPIRED
    if removed:
        audit.record(
            "export.purged",
            object_type="export",
            detail={"removed": len(removed), "older_than": cutoff.isoformat(), "days": days},
        )
    db.session.flush()
    return len(removed)


def export_job(now: datetime) -> None:
    n = purge_exports(now)
    if n:
        log.info("export retention: %s files removed", n)


def audit_job(now: datetime) -> None:
    try:
        with db.session.begin_nested():
            n = purge_audit(now)
    except IntegrityError:  # another scheduler purged the same range at the same moment
        n = 0
    if n:
        log.info("audit retention: %s entries purged", n)


def session_job(now: datetime) -> None:
    n = purge_sessions(now)
    if n:
        log.info("session retention: %s sessions purged", n)


def register(app: Flask) -> None:
    from app.engine.cli import register_job

    register_job("retention.audit", audit_job, every=EVERY_SECONDS)
    register_job("retention.sessions", session_job, every=EVERY_SECONDS)
    register_job("retention.exports", export_job, every=EVERY_SECONDS)
