"""Enterprises under supervision."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models_base import UTCDateTime, utcnow
from app.orgs.models import Organisation

GRADES = {"A": "A级（重点）", "B": "B级（较重点）", "C": "C级（一般）", "D": "D级（较低）"}


class Enterprise(db.Model):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    # The supervising organisation (a street office or, where none, the district brigade).
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    district_code: Mapped[str | None] = mapped_column(String(16), index=True)
    industry_code: Mapped[str | None] = mapped_column(String(16), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    legal_person: Mapped[str | None] = mapped_column(String(60))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    grade: Mapped[str | None] = mapped_column(String(2), index=True)
    employees: Mapped[int | None]
    established_on: Mapped[date | None]
    longitude: Mapped[float | None]
    latitude: Mapped[float | None]
    soe_group_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org: Mapped[Organisation] = relationship(foreign_keys=[org_id], lazy="joined")


RECORD_KINDS = {
    "accident": "生产安全事故",
    "violation": "违法行为",
    "complaint": "投诉举报",
    "major_hazard": "重大危险源",
    "standardisation": "安全生产标准化",
    "insurance": "安全生产责任险",
    "emergency_plan": "应急预案备案",
    "exchange": "数据交换记录",
    "grade_change": "监管等级变化",
    "label_change": "标签变化",
    "dispatch": "触发式监管处置结果",
}


class EnterpriseRecord(db.Model):
    """One dated fact about an enterprise with its source (一企一档): accidents, violations, hazards,
    standardisation, insurance, plans, complaints, exchange records. Grading reads these; trigger
    rules evaluate each new one."""

    __tablename__ = "enterprise_records"
    __table_args__ = (
        Index("ix_enterprise_records_ent_kind_on", "enterprise_id", "kind", "occurred_on"),
        Index("ix_enterprise_records_kind_created", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    occurred_on: Mapped[date]
    title: Mapped[str] = mapped_column(String(300))
    value: Mapped[dict] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(60))  # 数据交换：市市场监管局 / 人工录入 / 系统
    source_ref: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enterprise: Mapped[Enterprise] = relationship()

    @property
    def kind_label(self) -> str:
        return RECORD_KINDS.get(self.kind, self.kind)
