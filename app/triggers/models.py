"""Triggered supervision (触发式监管): versioned trigger rules, scenarios combining them, and hits."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.enterprises.models import Enterprise
from app.extensions import db
from app.models_base import UTCDateTime, utcnow
from app.orgs.models import Organisation

RULE_STATUS = {"draft": "草稿", "published": "已发布", "retired": "已停用"}
HIT_STATUS = {
    "handling": "区级处置中",
    "reviewing": "待审核办结",
    "closed": "已办结",
}
OUTCOMES = {"problem": "发现问题并已处理", "no_problem": "未发现问题", "rectifying": "发现问题，整改中"}
MODES = {"any": "任一规则命中", "all": "全部规则均命中"}


class TriggerRule(db.Model):
    """A condition (restricted Python expression) over one kind of incoming record; versions by code."""

    __tablename__ = "trigger_rules"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(120))
    record_kind: Mapped[str] = mapped_column(String(24))
    condition: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def status_label(self) -> str:
        return RULE_STATUS.get(self.status, self.status)


class TriggerScenario(db.Model):
    """A scenario (触发场景): rules combined (any/all, at least N records) within a window of days."""

    __tablename__ = "trigger_scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    rule_codes: Mapped[list] = mapped_column(JSON, default=list)
    mode: Mapped[str] = mapped_column(String(8), default="any")
    min_count: Mapped[int] = mapped_column(default=1)
    window_days: Mapped[int] = mapped_column(default=30)
    merge_days: Mapped[int] = mapped_column(default=30)  # hits within this many days are merged
    deadline_days: Mapped[int] = mapped_column(default=5)  # working days for the district
    remind_days: Mapped[int] = mapped_column(default=3)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def mode_label(self) -> str:
        return MODES.get(self.mode, self.mode)


class TriggerHit(db.Model):
    __tablename__ = "trigger_hits"
    __table_args__ = (Index("ix_trigger_hits_ent_scn", "enterprise_id", "scenario_id", "first_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("trigger_scenarios.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)  # the responsible district
    status: Mapped[str] = mapped_column(String(16), default="handling", index=True)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hit_count: Mapped[int] = mapped_column(default=1)
    record_ids: Mapped[list] = mapped_column(JSON, default=list)
    rule_codes: Mapped[list] = mapped_column(JSON, default=list)
    deadline: Mapped[date | None]
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    scenario: Mapped[TriggerScenario] = relationship(lazy="joined")
    enterprise: Mapped[Enterprise] = relationship(lazy="joined")
    org: Mapped[Organisation] = relationship()

    @property
    def status_label(self) -> str:
        if self.status != "closed" and self.escalated_at:
            return HIT_STATUS.get(self.status, self.status) + "（已超期升级）"
        return HIT_STATUS.get(self.status, self.status)

    @property
    def outcome_label(self) -> str:
        return OUTCOMES.get(self.outcome or "", self.outcome or "")
