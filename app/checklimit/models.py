"""Check once (综合查一次): annual inspection limits by grade and over-limit filings (超限检查报备)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.enterprises.models import Enterprise
from app.extensions import db
from app.models_base import UTCDateTime, utcnow
from app.orgs.models import Organisation

FILING_STATUS = {"pending": "审批中", "approved": "已批准并登记", "rejected": "未批准"}


class InspectionLimit(db.Model):
    """The annual inspection limit of an enterprise of a grade, counted across all departments."""

    __tablename__ = "inspection_limits"

    grade: Mapped[str] = mapped_column(String(2), primary_key=True)
    annual_limit: Mapped[int]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OverLimitFiling(db.Model):
    """An inspection beyond the limit, with its explanation; recorded only once approved."""

    __tablename__ = "overlimit_filings"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)  # the inspecting unit
    year: Mapped[int]
    inspect_on: Mapped[date]
    kind: Mapped[str] = mapped_column(String(16), default="other")
    reason: Mapped[str] = mapped_column(Text)
    count_at_filing: Mapped[int]
    limit_at_filing: Mapped[int]
    plan_item_id: Mapped[int | None] = mapped_column(ForeignKey("plan_items.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id", ondelete="SET NULL"))
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")
    org: Mapped[Organisation] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def status_label(self) -> str:
        return FILING_STATUS.get(self.status, self.status)
