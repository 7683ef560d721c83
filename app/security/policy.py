"""Account policy: password history and age, and disabling accounts nobody has used for a long time.

All numbers are settings (MLPS level 2 sets none; 5 passwords, 90 days, 90 days are assessor practice):
PASSWORD_HISTORY, PASSWORD_MAX_AGE_DAYS (0 = never expires), ACCOUNT_IDLE_DAYS (0 = never disabled).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import func, select

from app.audit import services as audit
from app.auth.models import User
from app.errors import ValidationFailed
from app.extensions import db
from app.models_base import utcnow
from app.security import sessions
from app.security.models import PasswordHistory
from app.security.passwords import verify_password

log = logging.getLogger(__name__)


def password_expired(user: User, now: datetime | None = None) -> bool:
    days = current_app.config["PASSWORD_MAX_AGE_DAYS"]
    if not days or user.password_changed_at is None:
        return False
    return (now or utcnow()) - user.password_changed_at > timedelta(days=days)


def password_change_required(user: User) -> bool:
    return bool(user.must_change_password) or password_expired(user)


def check_history(user: User, new_password: str) -> None:
    """Refuse the current password and the last PASSWORD_HISTORY ones."""
    keep = current_app.config["PASSWORD_HISTORY"]
    pepper = current_app.config["PASSWORD_PEPPER"]
    hashes = [user.password_hash]
    if keep and user.id is not None:
        hashes += db.session.scalars(
            select(PasswordHistory.password_hash)
            .where(PasswordHistory.user_id == user.id)
            .order_by(PasswordHistory.id.desc())
            .limit(keep)
        ).all()
    if any(verify_password(new_password, h, pepper=pepper) for h in hashes if h):
        raise ValidationFailed(
            "密码不符合安全策略", errors={"password": f"新密码不能与最近 {max(keep, 1)} 次使用过的密码相同"}
        )


def remember_password(user: User) -> None:
    """Record the user's current password hash and keep only the newest PASSWORD_HISTORY entries."""
    keep = max(current_app.config["PASSWORD_HISTORY"], 1)
    db.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash, created_at=utcnow()))
    db.session.flush()
    old_ids = db.session.scalars(
        select(PasswordHistory.id)
        .where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.id.desc())
        .offset(keep)
    ).all()
    for row_id in old_ids:
        db.session.delete(db.session.get(PasswordHistory, row_id))


def idle_accounts(now: datetime | None = None) -> list[User]:
    days = current_app.config["ACCOUNT_IDLE_DAYS"]
    if not days:
        return []
    cutoff = (now or utcnow()) - timedelta(days=days)
    last_use = func.coalesce(User.last_login_at, User.created_at)
    stmt = select(User).where(User.status != "disabled", last_use < cutoff).order_by(User.id)
    return list(db.session.scalars(stmt))


def disable_idle_accounts(now: datetime | None = None) -> list[User]:
    """Disable accounts without a login for ACCOUNT_IDLE_DAYS (a system act: audited, flushes only)."""
    now = now or utcnow()
    users = idle_accounts(now)
    for user in users:
        last = user.last_login_at or user.created_at
        user.status = "disabled"
        sessions.end_all(user, "account", now=now)
        audit.record(
            "account.disabled_idle",
            object_type="user",
            object_id=user.id,
            detail={"login": user.login, "last_use": last.isoformat(), "days": current_app.config["ACCOUNT_IDLE_DAYS"]},
        )
    db.session.flush()
    return users


def run_disable_idle(app: Flask) -> int:
    """Scheduler job: one unit of work in its own app context; commit or roll back."""
    with app.app_context():
        try:
            users = disable_idle_accounts()
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("disable-idle job failed")
            raise
        if users:
            log.info("disabled %d idle accounts: %s", len(users), ", ".join(u.login for u in users))
        return len(users)
