"""效能评估: versioned models (indicators, weights, thresholds), monthly scores, improvement tasks,
效能识别 rules and the non-compliance records they find, and the 专题展示 topics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models_base import UTCDateTime, utcnow

MODEL_STATUS = {"draft": "草稿", "published": "已发布", "retired": "已停用"}
DIMENSIONS = {"quantity": "执法数量", "standard": "执法规范", "dispatch": "指挥调度"}
SCORE_STATUS = {
    "computed": "待核验",
    "verifying": "核验中",
    "confirmed": "已确认",
    "disputed": "有异议待裁决",
    "decided": "已裁决",
}
VIOLATION_STATUS = {"open": "待处理", "disputed": "申诉中", "upheld": "维持认定", "revoked": "已撤销"}
IMPROVEMENT_STATUS = {"open": "整改中", "accepting": "待验收", "closed": "已办结"}


class EffModel(db.Model):
    """One version of the efficiency model; editing a published model makes a new draft version."""

    __tablename__ = "eff_models"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(120))
    pass_score: Mapped[float] = mapped_column(Float, default=80.0)  # 达标 total
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    note: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    indicators: Mapped[list[EffIndicator]] = relationship(
        back_populates="model", order_by="EffIndicator.sort", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        return MODEL_STATUS.get(self.status, self.status)


class EffIndicator(db.Model):
    """An indicator of a model version: which metric, its weight, its threshold (达标值) and direction."""

    __tablename__ = "eff_indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("eff_models.id", ondelete="CASCADE"), index=True)
    metric: Mapped[str] = mapped_column(String(40))  # a key of app/efficiency/indicators.py METRICS
    name: Mapped[str] = mapped_column(String(120))
    dimension: Mapped[str] = mapped_column(String(16))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    threshold: Mapped[float] = mapped_column(Float, default=0.0)
    higher_better: Mapped[bool] = mapped_column(default=True)
    sort: Mapped[int] = mapped_column(default=0)

    model: Mapped[EffModel] = relationship(back_populates="indicators")

    @property
    def dimension_label(self) -> str:
        return DIMENSIONS.get(self.dimension, self.dimension)


class EffScore(db.Model):
    """One unit's (district or street) result for one month under one model version."""

    __tablename__ = "eff_scores"
    __table_args__ = (UniqueConstraint("model_id", "period", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("eff_models.id"), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))  # district / street
    values: Mapped[dict] = mapped_column(JSON, default=dict)  # metric -> {value, score, passed}
    total: Mapped[float] = mapped_column(Float, default=0.0)
    passed: Mapped[bool] = mapped_column(default=False)
    rank: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="computed", index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(Text)
    adjusted_total: Mapped[float | None] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org = relationship("Organisation", lazy="joined")
    model: Mapped[EffModel] = relationship()

    @property
    def status_label(self) -> str:
        return SCORE_STATUS.get(self.status, self.status)

    @property
    def final_total(self) -> float:
        return self.adjusted_total if self.adjusted_total is not None else self.total


class EffImprovement(db.Model):
    """辅助提升: an improvement task for a unit below the threshold, tracked in the inbox to closure."""

    __tablename__ = "eff_improvements"

    id: Mapped[int] = mapped_column(primary_key=True)
    score_id: Mapped[int] = mapped_column(ForeignKey("eff_scores.id", ondelete="CASCADE"), index=True, unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    weak_points: Mapped[str] = mapped_column(Text)
    measures: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    score: Mapped[EffScore] = relationship()
    org = relationship("Organisation", lazy="joined")

    @property
    def status_label(self) -> str:
        return IMPROVEMENT_STATUS.get(self.status, self.status)


class EffRule(db.Model):
    """A 效能识别 rule: a detector (app/efficiency/rules.py) with parameters administrators edit; versioned."""

    __tablename__ = "eff_rules"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(120))
    detector: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(16))  # enforcement / case / dispatch
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EffViolation(db.Model):
    """A non-compliance found by a rule, per person and department, with the evidence (instance + step)."""

    __tablename__ = "eff_violations"
    __table_args__ = (UniqueConstraint("rule_code", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_code: Mapped[str] = mapped_column(String(40), index=True)
    rule_version: Mapped[int] = mapped_column(default=1)
    category: Mapped[str] = mapped_column(String(16), index=True)
    ref: Mapped[str] = mapped_column(String(80))  # what was found, unique per rule (re-runs add nothing)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="SET NULL"))
    step: Mapped[str | None] = mapped_column(String(100))
    step_name: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300))
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(Text)
    dispute_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="SET NULL"))

    org = relationship("Organisation", lazy="joined")
    user = relationship("User", foreign_keys=[user_id])

    @property
    def status_label(self) -> str:
        return VIOLATION_STATUS.get(self.status, self.status)


class Topic(db.Model):
    """专题展示: a page of chosen panels on one topic, arranged by administrators."""

    __tablename__ = "stats_topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str] = mapped_column(String(24))  # clue / trigger / efficiency / dispatch
    panels: Mapped[list] = mapped_column(JSON, default=list)  # panel codes, in order
    active: Mapped[bool] = mapped_column(default=True)
    sort: Mapped[int] = mapped_column(default=0)
