"""Server-side sessions: an opaque random token in a cookie, only its SM3 hash in `user_sessions`.

Flask's own cookie session is signed, not revocable; authentication therefore rests on this table:
a session ends at logout, when the same user logs in elsewhere (one active session per user), after
SESSION_IDLE_MINUTES without a request, or SESSION_ABSOLUTE_HOURS after login. An ended token is
refused for ever, so a cookie copied before logout is worthless afterwards.

Services here flush and never commit. `resolve()` is called by the request loader: the two writes it
may make (touching `last_seen_at` at most once a minute, ending an expired session) run in their own
short transaction, because a GET request never commits and the expiry must hold anyway.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from app.auth.models import Role, User
from app.extensions import db
from app.models_base import utcnow
from app.security.models import UserSession
from app.security.sm import sm3

TOKEN_BYTES = 32  # 256 bits
TOUCH_EVERY = timedelta(seconds=60)

# Shown at the next request of an ended session (None: the plain "please log in").
NOTICES = {
    "superseded": "您的账号已在其他地方登录，本会话已结束",
    "idle": "长时间未操作，会话已超时，请重新登录",
    "expired": "会话已超过最长有效时间，请重新登录",
    "revoked": "本会话已被结束，请重新登录",
    "account": "账号状态已变更，请重新登录",
    "logout": None,
}


def token_hash(token: str) -> str:
    return sm3(token.encode("ascii", "replace")).hex()


def start(user: User, *, ip: str | None, user_agent: str | None) -> tuple[UserSession, str]:
    """Open a session for a user who has passed every login factor. Returns the row and the token."""
    now = utcnow()
    if current_app.config["SESSION_SINGLE"]:
        end_all(user, "superseded", now=now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = UserSession(
        user_id=user.id,
        token_hash=token_hash(token),
        created_at=now,
        last_seen_at=now,
        ip=ip,
        user_agent=(user_agent or "")[:255] or None,
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def end(row: UserSession, reason: str, *, now: datetime | None = None) -> None:
    if row.ended_at is None:
        row.ended_at, row.end_reason = now or utcnow(), reason
        db.session.flush()


def end_all(user: User, reason: str, *, now: datetime | None = None, except_id: int | None = None) -> int:
    """End every open session of a user (new login elsewhere, account disabled, password reset)."""
    stmt = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if except_id is not None:
        stmt = stmt.where(UserSession.id != except_id)
    result = db.session.execute(
        stmt.values(ended_at=now or utcnow(), end_reason=reason).execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0


def _write_now(row: UserSession, **values) -> None:
    """Persist a loader-side change in its own transaction (the request may never commit)."""
    with db.engine.begin() as conn:
        stmt = update(UserSession).where(UserSession.id == row.id, UserSession.ended_at.is_(None))
        conn.execute(stmt.values(**values))
    for key, value in values.items():
        set_committed_value(row, key, value)


@lru_cache(maxsize=1)
def _lookup():
    """`resolve`'s statement, built once per process (every request runs it)."""
    return (
        select(UserSession, User)
        .outerjoin(User, User.id == UserSession.user_id)
        .outerjoin(User.roles)
        .options(contains_eager(User.roles))
        .where(UserSession.token_hash == bindparam("token_hash"))
        .order_by(Role.id)
    )


def resolve(token: str, *, now: datetime | None = None) -> tuple[UserSession | None, User | None, str | None]:
    """Look a cookie token up: (row, user, None) when valid, (row or None, None, end reason) when not."""
    # One statement for the session, its user, the user's organisation and roles: the request's only
    # lookup (one row per role; the roles collection is filled from the join, not by a second SELECT).
    found = db.session.execute(_lookup(), {"token_hash": token_hash(token)}).unique().first()
    if found is None:
        return None, None, None
    row, user = found
    if row.ended_at is not None:
        return row, None, row.end_reason
    now = now or utcnow()
    cfg = current_app.config
    reason = None
    if user is None or not user.is_active:
        reason = "account"
    elif now - row.created_at > timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"]):
        reason = "expired"
    elif now - row.last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        reason = "idle"
    if reason:
        _write_now(row, ended_at=now, end_reason=reason)
        return row, None, reason
    if now - row.last_seen_at >= TOUCH_EVERY:
        _write_now(row, last_seen_at=now)
    return row, user, None


def list_for(user: User, limit: int = 30) -> list[UserSession]:
    stmt = (
        select(UserSession)
        .where(UserSession.user_id == user.id)
        .order_by(UserSession.ended_at.is_not(None), UserSession.created_at.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def get_own(user: User, session_id: int) -> UserSession | None:
    row = db.session.get(UserSession, session_id)
    return row if row is not None and row.user_id == user.id else None
