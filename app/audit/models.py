"""Audit entries and the chain head."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models_base import UTCDateTime, utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(index=True)
    actor_login: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(48))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class AuditHead(db.Model):
    """One row holding the latest chain value; locked while appending so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(default=0)
    last_mac: Mapped[str] = mapped_column(String(64), default="0" * 64)


class AuditAnchor(db.Model):
    """Where the chain starts after a retention purge (app/ops/retention.py): the id and mac of the last
    entry removed, sealed with HMAC-SM3 under the audit key, so verification begins from it instead of the
    genesis value and a forged anchor (to hide entries cut off the start) does not verify."""

    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(primary_key=True)
    through_id: Mapped[int] = mapped_column(unique=True)
    through_mac: Mapped[str] = mapped_column(String(64))
    removed: Mapped[int] = mapped_column(default=0)
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seal: Mapped[str] = mapped_column(String(64))
