"""Tables of 监管部门与国有集团交流 (R2.5.4): 监管指导建议 from the corps to a group, the thread of messages
(the guidance itself, the group's 意见反馈, the corps' replies), attachments and read receipts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models_base import UTCDateTime, utcnow

GUIDANCE_STATUS = {
    "open": "待反馈",
    "answered": "已反馈待审阅",
    "returned": "退回补充",
    "closed": "已办结",
}
MESSAGE_KINDS = {"guidance": "指导建议", "feedback": "意见反馈", "reply": "审阅意见", "remind": "催办提醒"}


class Guidance(db.Model):
    """One 监管指导建议 to one SOE group, run through the soe_guidance process."""

    __tablename__ = "soe_guidance"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    deadline: Mapped[date] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_before_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_after_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    group = relationship("Organisation")
    created_by = relationship("User")
    messages: Mapped[list[GuidanceMessage]] = relationship(
        back_populates="guidance", order_by="GuidanceMessage.id", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        return GUIDANCE_STATUS.get(self.status, self.status)

    def overdue(self, today: date) -> bool:
        return self.status in ("open", "returned") and today > self.deadline


class GuidanceMessage(db.Model):
    """One message of a thread, with its attachments ([{name, sha256, size}])."""

    __tablename__ = "soe_guidance_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    guidance_id: Mapped[int] = mapped_column(ForeignKey("soe_guidance.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    guidance: Mapped[Guidance] = relationship(back_populates="messages")
    author = relationship("User")
    org = relationship("Organisation")

    @property
    def kind_label(self) -> str:
        return MESSAGE_KINDS.get(self.kind, self.kind)


class GuidanceRead(db.Model):
    """A read receipt: who first read a thread, and when (the other side sees it)."""

    __tablename__ = "soe_guidance_reads"
    __table_args__ = (UniqueConstraint("guidance_id", "user_id", name="uq_soe_guidance_reads"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    guidance_id: Mapped[int] = mapped_column(ForeignKey("soe_guidance.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_id: Mapped[int | None]

    user = relationship("User")
