"""Enterprises under supervision."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
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
