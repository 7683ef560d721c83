"""Clues (线索) under verification, who follows them, and the reporter's encrypted particulars.

A clue row is created by the registration page and kept in step with its `clue_verification`
process instance by the process's service tasks (app/clues/process.py). The reporter's name, phone
and ID number live only here, SM4-GCM encrypted per cell; the phone also has a blind index so an
exact phone search works without decrypting.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db
from app.models_base import UTCDateTime, utcnow
from app.orgs.models import Organisation

SOURCES = {
    "report": "举报",
    "hotline": "12350热线",
    "miniapp": "小程序",
    "transfer": "移交",
    "inspection": "检查发现",
    "other": "其他",
}

STATUS = {
    "accepting": "待受理",
    "judging": "研判中",
    "dispatching": "待派单",
    "handling": "处理中",
    "feedback": "待反馈",
    "reviewing": "报告审核",
    "closed": "已办结",
    "rejected": "不予受理",
    "terminated": "已终止",
}
OPEN_STATUSES = ("accepting", "judging", "dispatching", "handling", "feedback", "reviewing")
CLOSED_STATUSES = ("closed", "rejected")  # visible to every enforcement organisation
ENDED_STATUSES = (*CLOSED_STATUSES, "terminated")  # not open any more

OUTCOMES = {
    "substantiated": "属实",
    "partly": "部分属实",
    "unsubstantiated": "不属实",
    "unverifiable": "无法核查",
    "not_accepted": "不予受理",
}

RISK_LEVELS = {"high": "高", "medium": "中", "low": "低"}
PRIORITIES = {"urgent": "紧急", "high": "高", "normal": "普通"}


class Clue(db.Model):
    __tablename__ = "clues"
    __table_args__ = (Index("ix_clues_status_district", "status", "district_org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(60), unique=True)  # the instance's 流程编号
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), index=True)
    content: Mapped[str] = mapped_column(Text)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True)
    # The district brigade that owns the clue (data scope), and the unit it was dispatched to.
    district_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    handling_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="accepting", index=True)
    priority: Mapped[str | None] = mapped_column(String(16))
    risk_level: Mapped[str | None] = mapped_column(String(16))
    verifiable: Mapped[bool | None]
    outcome: Mapped[str | None] = mapped_column(String(24), index=True)
    deadline: Mapped[date | None]
    returns_count: Mapped[int] = mapped_column(default=0)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("clues.id"))
    order_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    report_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    # Reporter particulars: SM4-GCM tokens (app.security.crypto), never plain text.
    reporter_name_enc: Mapped[str | None] = mapped_column(String(255))
    reporter_phone_enc: Mapped[str | None] = mapped_column(String(255))
    reporter_id_number_enc: Mapped[str | None] = mapped_column(String(255))
    reporter_phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    district_org: Mapped[Organisation] = relationship(foreign_keys=[district_org_id], lazy="joined")
    handling_org: Mapped[Organisation | None] = relationship(foreign_keys=[handling_org_id])
    registered_by: Mapped[User | None] = relationship(foreign_keys=[registered_by_id])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def status_label(self) -> str:
        return STATUS.get(self.status, self.status)

    @property
    def source_label(self) -> str:
        return SOURCES.get(self.source, self.source)

    @property
    def outcome_label(self) -> str:
        return OUTCOMES.get(self.outcome or "", self.outcome or "")

    @property
    def priority_label(self) -> str:
        return PRIORITIES.get(self.priority or "", self.priority or "")

    @property
    def risk_label(self) -> str:
        return RISK_LEVELS.get(self.risk_level or "", self.risk_level or "")


class ClueFollow(db.Model):
    """关注: a user who wants a notification at each step of a clue."""

    __tablename__ = "clue_follows"
    __table_args__ = (UniqueConstraint("clue_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clue_id: Mapped[int] = mapped_column(ForeignKey("clues.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _register_encrypted() -> None:
    from app.security.crypto import register_encrypted_column

    for column in ("reporter_name_enc", "reporter_phone_enc", "reporter_id_number_enc"):
        register_encrypted_column(Clue, column)


_register_encrypted()
