"""Tables of the data exchange (数据交互): runs, stored records, rejected rows, reconciliations,
push batches, enrichment facts and their cache, SOE submissions, incremental cursors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models_base import UTCDateTime, utcnow

RUN_STATUS = {
    "queued": "排队中",
    "running": "运行中",
    "done": "成功",
    "partial": "部分成功",
    "failed": "失败",
}
REJECT_STATUS = {"open": "待处理", "reprocessed": "已重新处理", "ignored": "已忽略"}


class ExchangeRun(db.Model):
    """One run of one connector: what it fetched and did with it, how long it took."""

    __tablename__ = "exchange_runs"
    __table_args__ = (Index("ix_exchange_runs_source_started", "source", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    dataset: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(16), default="manual")  # manual / schedule / api / upload
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cursor_from: Mapped[str | None] = mapped_column(String(40))
    cursor_to: Mapped[str | None] = mapped_column(String(40))
    pages: Mapped[int] = mapped_column(default=0)
    fetched: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    late: Mapped[int] = mapped_column(default=0)
    retries: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None]

    @property
    def status_label(self) -> str:
        return RUN_STATUS.get(self.status, self.status)


class ExchangeRecord(db.Model):
    """One record received from a source, keyed by (source, dataset, source id), with its version."""

    __tablename__ = "exchange_records"
    __table_args__ = (
        UniqueConstraint("source", "dataset", "source_id", name="uq_exchange_records_key"),
        Index("ix_exchange_records_dataset_changed", "dataset", "changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    dataset: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(default=1)
    checksum: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id", ondelete="SET NULL"), index=True)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_runs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExchangeReject(db.Model):
    """A row a connector could not take, with the reasons; re-processable after a fix."""

    __tablename__ = "exchange_rejects"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_runs.id", ondelete="SET NULL"), index=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    dataset: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(80))
    row: Mapped[dict] = mapped_column(JSON, default=dict)
    reasons: Mapped[list] = mapped_column(JSON, default=list)  # [{"field", "kind", "message"}]
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def status_label(self) -> str:
        return REJECT_STATUS.get(self.status, self.status)


class ExchangeCursor(db.Model):
    """Where the incremental pull of one data set stands (the latest change time taken)."""

    __tablename__ = "exchange_cursors"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    dataset: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reconciliation(db.Model):
    """核验比对: the source's count and checksum for one period against ours."""

    __tablename__ = "exchange_reconciliations"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    dataset: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    source_count: Mapped[int] = mapped_column(default=0)
    local_count: Mapped[int] = mapped_column(default=0)
    source_checksum: Mapped[str | None] = mapped_column(String(64))
    local_checksum: Mapped[str | None] = mapped_column(String(64))
    matched: Mapped[bool] = mapped_column(default=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PushBatch(db.Model):
    """A batch pushed to the data governance platform, with its acknowledgement."""

    __tablename__ = "exchange_push_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending/acked/failed
    size: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    ack_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[PushItem]] = relationship(back_populates="batch", order_by="PushItem.id")


class PushItem(db.Model):
    __tablename__ = "exchange_push_items"
    __table_args__ = (Index("ix_exchange_push_items_ref", "dataset", "ref_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("exchange_push_batches.id", ondelete="CASCADE"), index=True)
    dataset: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending/accepted/rejected/resent
    reason: Mapped[str | None] = mapped_column(String(300))

    batch: Mapped[PushBatch] = relationship(back_populates="items")


class EnterpriseFact(db.Model):
    """One enrichment fact about an enterprise, with where and when it came from."""

    __tablename__ = "exchange_facts"
    __table_args__ = (UniqueConstraint("enterprise_id", "field", name="uq_exchange_facts_field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    value: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(60))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LookupCache(db.Model):
    """Answers of a third-party API kept for a while (rate limits and cost)."""

    __tablename__ = "exchange_cache"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    answer: Mapped[dict | None] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Submission(db.Model):
    """An SOE group's report (by API or by file upload) and its row-level validation report."""

    __tablename__ = "exchange_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    dataset: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))  # api / upload
    status: Mapped[str] = mapped_column(String(16))  # accepted / refused
    rows: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    problems: Mapped[list] = mapped_column(JSON, default=list)
    filename: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
