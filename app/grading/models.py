"""The supervision grade model (监管等级模型): versions of its DMN tables, current scores, history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db
from app.models_base import UTCDateTime, utcnow

MODEL_STATUS = {"draft": "草稿", "published": "已发布", "retired": "已停用"}


class GradeModel(db.Model):
    """One version of the model: a points table (COLLECT) and a grade table (FIRST), both DMN."""

    __tablename__ = "grade_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    points_dmn: Mapped[str] = mapped_column(Text)
    grade_dmn: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    dryrun: Mapped[dict] = mapped_column(JSON, default=dict)  # the latest dry run's summary
    dryrun_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])

    @property
    def status_label(self) -> str:
        return MODEL_STATUS.get(self.status, self.status)

    @property
    def label(self) -> str:
        return f"{self.name}（第 {self.version} 版）"


class EnterpriseScore(db.Model):
    """The current score of an enterprise: total, grade, each entry's rule and data, the model version."""

    __tablename__ = "enterprise_scores"

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("grade_models.id"), index=True)
    total: Mapped[int]
    grade: Mapped[str] = mapped_column(String(2), index=True)
    entries: Mapped[list] = mapped_column(JSON, default=list)
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(String(120))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    model: Mapped[GradeModel] = relationship(lazy="joined")


class ScoreHistory(db.Model):
    """A change of an enterprise's score or grade (written only when something changed)."""

    __tablename__ = "score_history"
    __table_args__ = (Index("ix_score_history_ent_at", "enterprise_id", "computed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("grade_models.id"))
    total: Mapped[int]
    grade: Mapped[str] = mapped_column(String(2))
    previous_grade: Mapped[str | None] = mapped_column(String(2))
    previous_total: Mapped[int | None]
    entries: Mapped[list] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(String(120))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    model: Mapped[GradeModel] = relationship()


class GradeSnapshot(db.Model):
    """Enterprises per grade, district and industry at the end of a month (month-over-month display)."""

    __tablename__ = "grade_snapshots"
    __table_args__ = (UniqueConstraint("month", "org_id", "industry_code", "grade"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # scoped like the enterprises
    district_code: Mapped[str] = mapped_column(String(16))
    industry_code: Mapped[str] = mapped_column(String(16))
    grade: Mapped[str] = mapped_column(String(2))
    count: Mapped[int]


class JobMark(db.Model):
    """When a daily job last ran (the nightly recompute catches up after downtime)."""

    __tablename__ = "grading_job_marks"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_day: Mapped[str] = mapped_column(String(10))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
