"""Alerts (预警): abnormal flows, stalled or overdue work, lagging plans. Each has an owner and is
closed by handling it, with a closure record (who, when, how)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db
from app.models_base import UTCDateTime, utcnow

KINDS = {
    "clue_returned": "线索多次退回",
    "clue_stalled": "线索停滞",
    "clue_overdue": "线索超期",
    "task_overdue": "任务超期",
    "plan_lagging": "计划执行滞后",
    "exchange_mismatch": "数据核验异常",
}
LEVELS = {"red": "红色", "yellow": "黄色", "green": "绿色"}
STATUS = {"open": "待处置", "closed": "已处置"}


class Alert(db.Model):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_status_org", "status", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    level: Mapped[str] = mapped_column(String(8), default="yellow")
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str | None] = mapped_column(Text)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # What the alert is about (any of them may be empty).
    clue_id: Mapped[int | None] = mapped_column(ForeignKey("clues.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("monthly_plans.id", ondelete="CASCADE"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_tasks.id", ondelete="SET NULL"), index=True)
    url: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(8), default="open", index=True)
    # What was done about it: [{"at", "by", "action", "note"}] (催办, 升级, 处置).
    actions: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closure: Mapped[str | None] = mapped_column(Text)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def level_label(self) -> str:
        return LEVELS.get(self.level, self.level)

    @property
    def status_label(self) -> str:
        return STATUS.get(self.status, self.status)
