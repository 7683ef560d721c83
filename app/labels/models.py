"""Enterprise labels (生产经营单位标签): the library and the labels given to enterprises."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db
from app.models_base import UTCDateTime, utcnow

CATEGORIES = {"risk": "风险标签", "industry": "行业特征", "credit": "信用监管", "focus": "重点关注"}
COLOURS = {"danger": "红", "warning": "橙", "info": "蓝", "success": "绿", "secondary": "灰", "dark": "黑"}
SOURCES = {"manual": "手动", "auto": "规则自动"}


class LabelDef(db.Model):
    __tablename__ = "label_defs"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    category: Mapped[str] = mapped_column(String(16), default="risk")
    colour: Mapped[str] = mapped_column(String(16), default="secondary")
    # An automatic label's rule: a restricted expression over the grade inputs (e.g. `accidents_3y > 0`).
    rule: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def category_label(self) -> str:
        return CATEGORIES.get(self.category, self.category)


class EnterpriseLabel(db.Model):
    __tablename__ = "enterprise_labels"
    __table_args__ = (Index("ix_enterprise_labels_label_ent", "label_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("label_defs.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(8), default="manual")
    reason: Mapped[str] = mapped_column(String(300))
    expires_on: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    removed_reason: Mapped[str | None] = mapped_column(String(300))

    label: Mapped[LabelDef] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship()

    @property
    def source_label(self) -> str:
        return SOURCES.get(self.source, self.source)
