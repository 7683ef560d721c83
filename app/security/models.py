"""Security tables: server-side sessions, password history, TOTP, recovery codes, wrapped data keys, API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models_base import UTCDateTime, utcnow

SESSION_END_REASONS = {
    "logout": "主动退出",
    "superseded": "在其他地方登录",
    "idle": "长时间未操作",
    "expired": "超过最长时限",
    "revoked": "由本人结束",
    "account": "账号状态变更",
}


class UserSession(db.Model):
    """One login. The cookie holds a random token; only its SM3 hash is stored here."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    end_reason: Mapped[str | None] = mapped_column(String(16))

    @property
    def active(self) -> bool:
        return self.ended_at is None

    @property
    def end_reason_label(self) -> str:
        return SESSION_END_REASONS.get(self.end_reason or "", self.end_reason or "")


class PasswordHistory(db.Model):
    """Every password hash a user has had (newest last), to refuse re-use of recent ones."""

    __tablename__ = "user_password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserTotp(db.Model):
    """A user's TOTP secret (SM4-GCM field encryption); confirmed_at is None until enrolment is confirmed."""

    __tablename__ = "user_totp"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last accepted time step: a code is accepted once (RFC 6238 §5.2).
    last_step: Mapped[int] = mapped_column(default=0)


class RecoveryCode(db.Model):
    """One-time recovery codes, stored as HMAC-SM3 digests under the pepper."""

    __tablename__ = "user_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DataKey(db.Model):
    """A data key wrapped by the key-encryption key of a KeyProvider. Never stored in clear."""

    __tablename__ = "security_data_keys"
    __table_args__ = (UniqueConstraint("purpose", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))  # "field" (encryption) or "index" (blind index)
    version: Mapped[int] = mapped_column()
    wrapped: Mapped[str] = mapped_column(Text)
    kek_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | retired
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(db.Model):
    """A bearer token of a service account for the JSON API: only its HMAC-SM3 is stored.

    The token narrows the account: its permissions are the intersection of `permissions` and the
    account's roles, its data scope the subtree of `scope_org` (inside the account's own scope).
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists to tell tokens apart
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    permissions: Mapped[list] = mapped_column(JSON, default=list)
    scope_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_ip: Mapped[str | None] = mapped_column(String(64))

    user = relationship("User", foreign_keys=[user_id])
    scope_org = relationship("Organisation", foreign_keys=[scope_org_id])

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"
