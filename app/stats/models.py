"""Summary tables of 监督统计分析, refreshed incrementally, and the saved query views."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models_base import UTCDateTime, utcnow


class StatsDaily(db.Model):
    """One day's figures of one subject for one combination of grouping fields.

    `org_id` is the most specific owning unit (a street, else the district brigade) and is what the data
    scope filters on; the period columns (week, month, quarter, year) let queries group in SQL.
    """

    __tablename__ = "stats_daily"
    __table_args__ = (Index("ix_stats_daily_subject_day", "subject", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))
    day: Mapped[date]
    week: Mapped[int]  # ISO year * 100 + ISO week
    month: Mapped[int]  # year * 100 + month
    quarter: Mapped[int]  # year * 10 + quarter
    year: Mapped[int]
    org_id: Mapped[int] = mapped_column(index=True)
    district_org_id: Mapped[int | None]
    industry: Mapped[str] = mapped_column(String(16), default="")
    grade: Mapped[str] = mapped_column(String(4), default="")
    source: Mapped[str] = mapped_column(String(40), default="")
    n: Mapped[int] = mapped_column(default=0)
    closed: Mapped[int] = mapped_column(default=0)
    overdue: Mapped[int] = mapped_column(default=0)
    hours: Mapped[float] = mapped_column(Float, default=0.0)  # sum of hours to closure of the closed ones


class StatsDirty(db.Model):
    """A (subject, day) whose rows changed since the last refresh (written on flush by app/stats/summary.py)."""

    __tablename__ = "stats_dirty"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))
    day: Mapped[date]


class SavedView(db.Model):
    """A saved 监督统计分析 query (its parameters) of one user; shared ones are seen by everyone."""

    __tablename__ = "stats_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    shared: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatsMonthly(db.Model):
    """The city-wide roll-up of `stats_daily` by month and district (no street): six times fewer rows for
    inspections, so whole months of long ranges are read from here (app/stats/query.py)."""

    __tablename__ = "stats_monthly"
    __table_args__ = (Index("ix_stats_monthly_subject_month", "subject", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))
    month: Mapped[int]
    quarter: Mapped[int]
    year: Mapped[int]
    district_org_id: Mapped[int | None]
    industry: Mapped[str] = mapped_column(String(16), default="")
    grade: Mapped[str] = mapped_column(String(4), default="")
    source: Mapped[str] = mapped_column(String(40), default="")
    n: Mapped[int] = mapped_column(default=0)
    closed: Mapped[int] = mapped_column(default=0)
    overdue: Mapped[int] = mapped_column(default=0)
    hours: Mapped[float] = mapped_column(Float, default=0.0)
