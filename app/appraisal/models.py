"""Tables of 评议考核 (R2.5.2): versioned appraisal schemes with their items, one round per scheme and
period, one result per appraised person (staff computed from data and reviewer scores, leaders generated
from their units' results), the reviewers' scores and the objections."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models_base import UTCDateTime, utcnow

PERIOD_TYPES = {"month": "月度", "quarter": "季度", "year": "年度"}
SCHEME_STATUS = {"draft": "草稿", "published": "已发布", "archived": "已停用"}
ROUND_STATUS = {
    "computing": "计算中",
    "scoring": "评议打分中",
    "reviewing": "领导审核中",
    "published": "已公布（异议期）",
    "closed": "已归档",
}
RESULT_STATUS = {
    "computed": "已计算",
    "published": "已公布",
    "objected": "异议处理中",
    "upheld": "异议未采纳",
    "adjusted": "异议后调整",
}
KINDS = {"staff": "执法人员", "leader": "负责人"}


class AppraisalScheme(db.Model):
    """One version of an appraisal scheme (考核方案); a published version is never edited, a new one is."""

    __tablename__ = "appraisal_schemes"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_appraisal_schemes_code_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(120))
    period_type: Mapped[str] = mapped_column(String(8), default="month")
    leader_unit_weight: Mapped[float] = mapped_column(Float, default=0.7)  # 负责人: share of the unit average
    objection_days: Mapped[int] = mapped_column(default=5)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    note: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[AppraisalItem]] = relationship(
        back_populates="scheme", order_by="AppraisalItem.sort", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        return SCHEME_STATUS.get(self.status, self.status)

    @property
    def period_label(self) -> str:
        return PERIOD_TYPES.get(self.period_type, self.period_type)


class AppraisalItem(db.Model):
    """One item of a scheme: a data source, its weight, and the values that score 100 and 0."""

    __tablename__ = "appraisal_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("appraisal_schemes.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(40))  # a code of app/appraisal/sources.py, or "reviewer"
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    full: Mapped[float] = mapped_column(Float, default=100.0)  # the value that scores 100
    zero: Mapped[float] = mapped_column(Float, default=0.0)  # the value that scores 0
    sort: Mapped[int] = mapped_column(default=0)

    scheme: Mapped[AppraisalScheme] = relationship(back_populates="items")


class AppraisalRound(db.Model):
    """One period of one scheme: computed, scored by reviewers, reviewed, published, closed."""

    __tablename__ = "appraisal_rounds"
    __table_args__ = (UniqueConstraint("scheme_id", "period", name="uq_appraisal_rounds_scheme_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("appraisal_schemes.id"), index=True)
    period: Mapped[str] = mapped_column(String(8), index=True)  # 2026-11, 2026-Q4, 2026
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="computing", index=True)
    reviewers: Mapped[list] = mapped_column(JSON, default=list)  # logins
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="SET NULL"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    review_comment: Mapped[str | None] = mapped_column(Text)
    objection_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    scheme: Mapped[AppraisalScheme] = relationship()

    @property
    def status_label(self) -> str:
        return ROUND_STATUS.get(self.status, self.status)


class AppraisalResult(db.Model):
    """One person's result in one round: the item values and scores, the total, grade and rank."""

    __tablename__ = "appraisal_results"
    __table_args__ = (
        UniqueConstraint("round_id", "user_id", name="uq_appraisal_results_round_user"),
        Index("ix_appraisal_results_user", "user_id", "round_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("appraisal_rounds.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8), default="staff")  # staff / leader
    values: Mapped[dict] = mapped_column(JSON, default=dict)  # item id -> {value, score, weight}
    data_total: Mapped[float | None] = mapped_column(Float)  # before reviewer scores (the data items only)
    total: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(8))
    rank: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="computed", index=True)
    objection_reason: Mapped[str | None] = mapped_column(Text)
    objection_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="SET NULL"))
    adjusted_total: Mapped[float | None] = mapped_column(Float)
    adjust_reason: Mapped[str | None] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[AppraisalRound] = relationship()
    user = relationship("User", lazy="joined")
    org = relationship("Organisation")

    @property
    def final_total(self) -> float | None:
        return self.adjusted_total if self.adjusted_total is not None else self.total

    @property
    def status_label(self) -> str:
        return RESULT_STATUS.get(self.status, self.status)

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)


class AppraisalReview(db.Model):
    """One reviewer's score (0-100) of one person in one round (评议打分)."""

    __tablename__ = "appraisal_reviews"
    __table_args__ = (UniqueConstraint("round_id", "user_id", "reviewer_id", name="uq_appraisal_reviews"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("appraisal_rounds.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(String(300))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
