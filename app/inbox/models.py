"""Human tasks materialised from READY user tasks, and what people attach to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.engine.models import ProcessInstance
from app.extensions import db
from app.models_base import UTCDateTime, utcnow

TASK_STATUS = {
    "pending": "等待中",  # a later signer of 依次审批, or a 加签 waiting for its turn
    "open": "待办",
    "completed": "已办",
    "cancelled": "已取消",
}

OUTCOMES = {
    "approve": "通过",
    "reject": "拒绝",
    "complete": "提交",
    "return": "退回",
    "withdraw": "撤回",
    "reclaim": "拿回",
    "transfer": "转办",
    "delegate": "委派",
    "delegated": "委派办理",
    "add_sign": "加签",
    "remove_sign": "减签",
    "terminate": "终止",
    "auto_approve": "自动通过",
    "auto_reject": "自动拒绝",
    "skip": "跳过",
    "timeout": "超时",
}


class HumanTask(db.Model):
    """One person's (or one role's) share of a READY user task.

    A plain user task has one row. An approval group (会签/或签/依次/比例) has one row per approver sharing
    `group_id` (the Spiff task id plus an activation suffix); the runtime completes the Spiff task
    when the group's policy resolves.
    """

    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_human_tasks_open_role", "status", "candidate_role"),
        Index("ix_human_tasks_assignee_status", "assignee_id", "status"),
        Index("ix_human_tasks_completed_by", "completed_by_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36), index=True)
    group_id: Mapped[str] = mapped_column(String(48), index=True)  # spiff task id + ":" + activation
    step: Mapped[str] = mapped_column(String(100))
    step_name: Mapped[str] = mapped_column(String(200))
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="task")  # task | approval
    method: Mapped[str] = mapped_column(String(16), default="single")  # single all any sequential ratio
    seq: Mapped[int] = mapped_column(default=0)
    candidate_role: Mapped[str | None] = mapped_column(String(48))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    outcome: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    form_data: Mapped[dict | None] = mapped_column(JSON)
    draft: Mapped[dict | None] = mapped_column(JSON)
    signature: Mapped[str | None] = mapped_column(Text)  # data URI of a handwritten signature PNG
    priority: Mapped[int] = mapped_column(default=2)  # 1 high, 2 normal, 3 low
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    remind_count: Mapped[int] = mapped_column(default=0)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # 加签
    add_mode: Mapped[str | None] = mapped_column(String(8))  # before / after
    delegated_from_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # 委派
    transferred_from_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # 转办
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the deadline clock is stopped
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    instance: Mapped[ProcessInstance] = relationship(lazy="joined", innerjoin=True)
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])

    @property
    def outcome_label(self) -> str:
        return OUTCOMES.get(self.outcome or "", self.outcome or "")


class CarbonCopy(db.Model):
    """抄送: a read-only copy of an instance for a person, with read status."""

    __tablename__ = "carbon_copies"
    __table_args__ = (Index("ix_carbon_copies_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    step_name: Mapped[str | None] = mapped_column(String(200))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    instance: Mapped[ProcessInstance] = relationship(lazy="joined", innerjoin=True)


class Comment(db.Model):
    __tablename__ = "instance_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_tasks.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")


class Attachment(db.Model):
    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("uploaded_by_id", "upload_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_tasks.id"))
    field: Mapped[str | None] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sm3: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(400))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Field evidence from a phone (app/inbox/uploads.py): when it was taken, where (only with the
    # officer's consent), and the client's idempotency key, so a retried upload is stored once.
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    accuracy_m: Mapped[float | None]
    upload_key: Mapped[str | None] = mapped_column(String(64))

    uploaded_by: Mapped[User] = relationship(lazy="joined")


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))  # new_task, remind, escalate, urge, cc, return, done
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(300))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CommonPhrase(db.Model):
    """常用语: personal (user_id set) or shared (user_id null) opinions for the comment box."""

    __tablename__ = "common_phrases"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    text: Mapped[str] = mapped_column(String(300))
    sort: Mapped[int] = mapped_column(default=0)


DEADLINE_KINDS = {"extend": "延期", "pause": "暂停计时"}
DEADLINE_STATUS = {"pending": "待审批", "approved": "已批准", "rejected": "已驳回"}


class DeadlineChange(db.Model):
    """A request to extend or pause a task's statutory deadline, decided by a leader in scope."""

    __tablename__ = "deadline_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # extend / pause
    days: Mapped[int] = mapped_column(default=0)
    working: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    task: Mapped[HumanTask] = relationship(lazy="joined")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id], lazy="joined")
