"""Documents (rendered, stored and signed PDFs), their number counters, and background jobs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models_base import UTCDateTime, utcnow

DOCUMENT_STATUS = {"draft": "草稿", "signed": "已签发"}
# Kinds other modules add appear by their code until they are named here.
DOCUMENT_KINDS = {
    "investigation_order": "调查单",
    "investigation_report": "调查报告",
    "monthly_report": "月度统计报告",
    "approval_record": "审批单",
    "stats_monthly": "统计月报",
    "stats_quarterly": "统计季报",
    "stats_yearly": "统计年报",
}
JOB_STATUS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}


class Document(db.Model):
    """One generated PDF. `path` is relative to `<INSTANCE_DIR>/documents/`; `sm3` is its digest."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(index=True)  # the owning organisation, for data scope
    kind: Mapped[str] = mapped_column(String(48), index=True)  # e.g. "investigation_report"
    number: Mapped[str | None] = mapped_column(String(64), unique=True)  # 文号, given at sign-off at the latest
    title: Mapped[str] = mapped_column(String(200))
    # The process instance it belongs to; no foreign key: the engine tables live elsewhere.
    instance_id: Mapped[int | None] = mapped_column(index=True)
    business_key: Mapped[str | None] = mapped_column(String(64), index=True)
    # What it was rendered from, so sign-off can render it again with the signature block filled in.
    template: Mapped[str] = mapped_column(String(100))
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    path: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(default=0)
    sm3: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str | None] = mapped_column(String(60))
    # SM3 of (kind, template, org, context): the same document for the same data is rendered once.
    content_key: Mapped[str | None] = mapped_column(String(64), index=True)

    @property
    def ready(self) -> bool:
        """False while the job worker is still rendering it (no file yet)."""
        return bool(self.path)

    @property
    def status_label(self) -> str:
        return DOCUMENT_STATUS.get(self.status, self.status)

    @property
    def kind_label(self) -> str:
        return DOCUMENT_KINDS.get(self.kind, self.kind)

    def __repr__(self) -> str:
        return f"<Document {self.id} {self.kind} {self.number or '-'}>"


class DocumentCounter(db.Model):
    """The last sequence number given per prefix and year (沪应急执〔2026〕12号); locked while numbering."""

    __tablename__ = "document_counters"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)  # "沪应急执:2026"
    last: Mapped[int] = mapped_column(default=0)


class Job(db.Model):
    """A background job (report generation, import, export): a queue row, its attempts and progress.

    `task` names the job function (`module:function`) and `payload` holds its JSON arguments, so any
    process can run it (the job worker, app/reports/worker.py). A worker holds a job by its lease
    (`locked_by`, `locked_until`, renewed while it runs): a worker killed mid-job leaves a lease that
    expires, and the job is taken again. `run_after` delays a retry (backoff); `dedup_key` keeps two
    jobs for the same result from running at once.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(48), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(String(300))
    # JSON the job function returned; a "url" key is where the result can be fetched.
    result: Mapped[dict | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    task: Mapped[str | None] = mapped_column(String(160))
    payload: Mapped[dict | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    run_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(80))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dedup_key: Mapped[str | None] = mapped_column(String(64), index=True)

    @property
    def status_label(self) -> str:
        return JOB_STATUS.get(self.status, self.status)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    @property
    def result_url(self) -> str | None:
        return (self.result or {}).get("url") if isinstance(self.result, dict) else None
