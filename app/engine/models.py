"""Process models and versions, instances (JSON state), incidents, timers' heartbeat, the working calendar."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models_base import UTCDateTime, utcnow

INSTANCE_STATUS = {
    "running": "进行中",
    "suspended": "已挂起",
    "completed": "已办结",
    "rejected": "已拒绝",
    "terminated": "已终止",
    "error": "异常",
}


class ProcessModel(db.Model):
    """A process known by its BPMN process id; its versions hold the sources."""

    __tablename__ = "process_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str | None] = mapped_column(String(60))
    description: Mapped[str | None] = mapped_column(Text)
    # Numbering rule (流程编号), e.g. "XS{yyyy}{MM}{dd}{seq:4}"; title rule, e.g. "{enterprise_name}线索核查".
    number_rule: Mapped[str | None] = mapped_column(String(120))
    title_rule: Mapped[str | None] = mapped_column(String(200))
    summary_fields: Mapped[list] = mapped_column(JSON, default=list)
    start_roles: Mapped[list] = mapped_column(JSON, default=list)
    start_form: Mapped[str | None] = mapped_column(String(120))
    enabled: Mapped[bool] = mapped_column(default=True)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_versions.id", use_alter=True, name="fk_process_models_current_version")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    current_version: Mapped[ProcessVersion | None] = relationship(foreign_keys=[current_version_id], post_update=True)


class ProcessVersion(db.Model):
    """One deployed version: the sources as deployed, so a running instance always finds its spec."""

    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("process_models.id"), index=True)
    version: Mapped[int]
    bpmn: Mapped[str] = mapped_column(Text)
    bpmn_filename: Mapped[str] = mapped_column(String(200))
    dmn: Mapped[dict] = mapped_column(JSON, default=dict)  # filename -> xml text
    forms: Mapped[dict] = mapped_column(JSON, default=dict)  # form filename -> json text
    extra_bpmn: Mapped[dict] = mapped_column(JSON, default=dict)  # called processes' files
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    comment: Mapped[str | None] = mapped_column(String(300))
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    model: Mapped[ProcessModel] = relationship(foreign_keys=[model_id])

    @property
    def process_id(self) -> str:
        return self.model.process_id


class ProcessInstance(db.Model):
    __tablename__ = "process_instances"
    __table_args__ = (Index("ix_process_instances_status_timer", "status", "next_timer_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    number: Mapped[str | None] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    initiator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    state: Mapped[dict] = mapped_column(JSON)  # the serialized workflow, without its spec
    lock_version: Mapped[int] = mapped_column(default=1)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    current_steps: Mapped[list] = mapped_column(JSON, default=list)  # names of READY/WAITING steps for lists
    end_reason: Mapped[str | None] = mapped_column(String(300))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    version: Mapped[ProcessVersion] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}

    @property
    def spec_info(self):
        """The cached, immutable view of this instance's version (no query after the first use)."""
        from app.engine.deploy import version_info

        return version_info(self.version_id)


class InstanceEvent(db.Model):
    """The per-instance history: who did what, when, with which data change (the timeline)."""

    __tablename__ = "instance_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str | None] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(32))  # start, complete, approve, reject, return, withdraw, timer, ...
    step: Mapped[str | None] = mapped_column(String(100))
    step_name: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class Incident(db.Model):
    """A step that failed after its retries; an administrator fixes data and retries."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    step: Mapped[str | None] = mapped_column(String(100))
    step_name: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open / resolved
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SchedulerHeartbeat(db.Model):
    __tablename__ = "scheduler_heartbeat"

    id: Mapped[int] = mapped_column(primary_key=True)
    node: Mapped[str] = mapped_column(String(120))
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_total: Mapped[int] = mapped_column(default=0)


class CalendarDay(db.Model):
    """An administrator's correction of the working calendar: a day off, or a make-up working day."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    working: Mapped[bool]
    note: Mapped[str | None] = mapped_column(String(60))
