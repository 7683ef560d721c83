"""Users and roles."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Column, ForeignKey, String, Table
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models_base import UTCDateTime, utcnow
from app.orgs.models import Organisation

user_roles = Table(
    "user_roles",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)

USER_STATUS = {"active": "正常", "disabled": "停用", "locked": "锁定"}


class Role(db.Model):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str | None] = mapped_column(String(200))
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    builtin: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<Role {self.code}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[str | None] = mapped_column(String(60))
    is_leader: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(default=0)
    first_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A service account (external system): no interactive login, reaches the API with tokens only.
    service_account: Mapped[bool] = mapped_column(default=False, server_default=sa_false())

    org: Mapped[Organisation] = relationship(lazy="joined")
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin", order_by=Role.id)

    @property
    def is_active(self) -> bool:  # Flask-Login: disabled accounts cannot log in
        return self.status != "disabled"

    @property
    def role_codes(self) -> set[str]:
        return {r.code for r in self.roles}

    # Set for one request by API-token authentication (app/security/tokens.py): the token narrows the
    # account's permissions and data scope. Plain attributes, not columns.
    token_permissions = None
    token_scope_org = None

    @property
    def permissions(self) -> set[str]:
        held = {p for r in self.roles for p in (r.permissions or [])}
        return held if self.token_permissions is None else held & self.token_permissions

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def __repr__(self) -> str:
        return f"<User {self.login}>"
