"""Drafts of process files, kept server-side until they are deployed (nothing is lost on the way)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models_base import UTCDateTime, utcnow

DRAFT_KINDS = {"bpmn": "流程图", "dmn": "决策表", "form": "表单"}


class ProcessDraft(db.Model):
    """One edited file of a process's workspace: it overrides the file of the current version.

    A workspace is the current version's sources with the drafts laid over them; ``deleted`` marks a
    file removed from the workspace. Deploying the workspace deletes its drafts.
    """

    __tablename__ = "process_drafts"
    __table_args__ = (UniqueConstraint("process_id", "filename"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))  # bpmn / dmn / form
    text: Mapped[str] = mapped_column(Text, default="")
    deleted: Mapped[bool] = mapped_column(default=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
