"""TOTP second factor (RFC 6238 via pyotp) with one-time recovery codes.

The secret is stored with `encrypt_field` (SM4-GCM bound to user_totp.secret_enc of the user's row).
Codes use the authenticator-app defaults (SHA-1, 6 digits, 30 s) so every app can scan the QR code,
which segno renders server-side as an SVG data URI (the CSP allows data: images, not inline scripts).
A code is accepted once: the accepted time step is stored and later steps only move forward.
Required for users holding any permission in TOTP_REQUIRED_PERMISSIONS (enrolment forced at login).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, select, update

from app.audit import services as audit
from app.auth.models import User
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models_base import utcnow
from app.security.crypto import decrypt_field, encrypt_field
from app.security.models import RecoveryCode, UserTotp
from app.security.sm import hmac_sm3

TABLE, COLUMN = "user_totp", "secret_enc"
STEP_SECONDS = 30
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i


def required_for(user: User) -> bool:
    required = set(current_app.config["TOTP_REQUIRED_PERMISSIONS"])
    return bool(required & user.permissions)


def _row(user: User) -> UserTotp | None:
    return db.session.get(UserTotp, user.id)


def is_enrolled(user: User) -> bool:
    row = _row(user)
    return row is not None and row.confirmed_at is not None


def enrolment_required(user: User) -> bool:
    return required_for(user) and not is_enrolled(user)


def _secret(row: UserTotp) -> str:
    return decrypt_field(row.secret_enc, table=TABLE, column=COLUMN, row_id=row.user_id)


def begin_enrolment(user: User) -> str:
    """The pending secret for a user (created once, kept across page reloads until confirmed)."""
    row = _row(user)
    if row is not None and row.confirmed_at is not None:
        raise Conflict("已绑定动态口令，如需更换请先由安全管理员重置")
    if row is None:
        secret = pyotp.random_base32()  # 160 bits
        row = UserTotp(user_id=user.id, created_at=utcnow(), last_step=0)
        row.secret_enc = encrypt_field(secret, table=TABLE, column=COLUMN, row_id=user.id)
        db.session.add(row)
        db.session.flush()
        return secret
    return _secret(row)


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.login, issuer_name=current_app.config["TOTP_ISSUER"])


def qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _match_step(secret: str, code: str, now: datetime, after_step: int) -> int | None:
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):  # one step of clock drift either way
        if step > after_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def confirm_enrolment(user: User, code: str, *, now: datetime | None = None) -> list[str]:
    """Confirm with a first code; returns the recovery codes (shown once, stored hashed)."""
    row = _row(user)
    if row is None:
        raise ValidationFailed(errors={"code": "请先生成二维码"})
    if row.confirmed_at is not None:
        raise Conflict("已绑定动态口令")
    step = _match_step(_secret(row), code, now or utcnow(), row.last_step)
    if step is None:
        raise ValidationFailed("动态口令不正确", errors={"code": "动态口令不正确，请核对手机时间后重试"})
    if not _advance(row, step):
        raise ValidationFailed("动态口令已被使用", errors={"code": "该动态口令已使用，请等待下一个口令"})
    row.confirmed_at = now or utcnow()
    codes = new_recovery_codes(user)
    audit.record("totp.enrol", actor=user, object_type="user", object_id=user.id)
    return codes


def _code_hash(code: str) -> str:
    normalised = "".join(code.lower().split()).replace("-", "")
    return hmac_sm3(current_app.config["PASSWORD_PEPPER"].encode(), b"recovery|" + normalised.encode()).hex()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with 10 new ones (about 50 bits each)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_code_hash(c), created_at=utcnow()) for c in codes)
    db.session.flush()
    return codes


def verify(user: User, code: str, *, now: datetime | None = None) -> str | None:
    """Check a login code: returns "totp" or "recovery" when accepted (and consumes it), None otherwise."""
    now = now or utcnow()
    row = _row(user)
    if row is None or row.confirmed_at is None:
        return None
    step = _match_step(_secret(row), code, now, row.last_step)
    if step is not None:
        # Two logins sending the same code at once: only one conditional UPDATE can move the step.
        return "totp" if _advance(row, step) else None
    digest = _code_hash(code)
    for rc in db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ):
        if hmac.compare_digest(rc.code_hash, digest):
            used = db.session.execute(
                update(RecoveryCode)
                .where(RecoveryCode.id == rc.id, RecoveryCode.used_at.is_(None))
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            )
            db.session.expire(rc)
            if used.rowcount != 1:
                return None
            audit.record("totp.recovery_code_used", actor=user, object_type="user", object_id=user.id)
            return "recovery"
    return None


def _advance(row: UserTotp, step: int) -> bool:
    """Accept time step `step` once: an atomic compare-and-set on last_step (row lock on PostgreSQL)."""
    result = db.session.execute(
        update(UserTotp)
        .where(UserTotp.user_id == row.user_id, UserTotp.last_step < step)
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(row, ["last_step"])
    return result.rowcount == 1


def remaining_recovery_codes(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        ).all()
    )


def reset(user: User, *, actor: User) -> None:
    """Security administrator removes a user's second factor (lost phone); the user enrols again."""
    if not actor.can("security.admin"):
        raise PermissionDenied()
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    row = _row(user)
    if row is not None:
        db.session.delete(row)
    db.session.flush()
    audit.record("totp.reset", actor=actor, object_type="user", object_id=user.id, detail={"login": user.login})
