"""Applications for second/third-level accounts (账号开通申请), approved through `account_opening`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db
from app.models_base import UTCDateTime, utcnow
from app.orgs.models import Organisation

STATUS = {
    "district_review": "区级审核中",
    "city_review": "总队审批中",
    "created": "已开通",
    "rejected": "已驳回",
    "terminated": "已终止",
}


class AccountApplication(db.Model):
    __tablename__ = "account_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(60))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)  # the new account's org
    login: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[str | None] = mapped_column(String(60))
    roles: Mapped[list] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="city_review", index=True)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    applied_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The initial password, SM4-GCM encrypted, shown once to the applicant and then wiped.
    initial_password_enc: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    org: Mapped[Organisation] = relationship(lazy="joined")
    applied_by: Mapped[User] = relationship(foreign_keys=[applied_by_id])
    created_user: Mapped[User | None] = relationship(foreign_keys=[created_user_id])

    @property
    def status_label(self) -> str:
        return STATUS.get(self.status, self.status)


def _register_encrypted() -> None:
    from app.security.crypto import register_encrypted_column

    register_encrypted_column(AccountApplication, "initial_password_enc")


_register_encrypted()
