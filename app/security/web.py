"""Wires the security pieces into the Flask app: crypto self-test, session loading, the session cookie,
forced account steps (password change, TOTP enrolment), login throttling and the audit checkpoint."""

from __future__ import annotations

import logging

from flask import Flask, current_app, flash, g, redirect, request, url_for
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user

from app.extensions import db, login_manager

log = logging.getLogger(__name__)

# Endpoints a logged-in user may reach while a forced step (password change, TOTP enrolment) is pending.
STEP_EXEMPT = {
    "static",
    "auth.login",
    "auth.login_verify",
    "auth.logout",
    "auth.change_password",
    "security.totp_enrol",
    "portal.healthz",
    "pwa.manifest",
    "pwa.service_worker",
    "pwa.offline",
}


def init_security(app: Flask) -> None:
    from app.audit.checkpoint import install as install_checkpoint
    from app.security.crypto import register_encrypted_column
    from app.security.limits import limiter
    from app.security.masking import mask_id_number, mask_name, mask_phone
    from app.security.models import UserTotp
    from app.security.sm import self_test

    # Refuse to start when a primitive disagrees with its published vector.
    app.extensions["ducha.crypto_self_test"] = self_test()
    if app.config["ENV_NAME"] == "production" and app.config.get("KEY_PROVIDER", "file") == "file":
        log.warning("DUCHA_KEY_PROVIDER=file: the key-encryption key is a file; use a certified crypto module")
    register_encrypted_column(UserTotp, "secret_enc")
    app.add_template_filter(mask_id_number, "mask_id_number")
    app.add_template_filter(mask_phone, "mask_phone")
    app.add_template_filter(mask_name, "mask_name")
    limiter.init_app(app)
    # Only the views decorated with `login_throttle` have limits, and their decorator checks them; the
    # limiter's own before-request hook (default and application limits: there are none) cost ~2 % of
    # every request's CPU.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    if app.config["ENV_NAME"] == "production" and str(app.config.get("RATELIMIT_STORAGE_URI")).startswith("memory"):
        log.warning("RATELIMIT_STORAGE_URI=memory:// counts login attempts per worker; use redis://")
    install_checkpoint(app)

    login_manager.user_loader(_load_user)
    login_manager.request_loader(lambda _request: _request_user())
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(_enforce_account_steps)
    app.after_request(_session_cookie)
    app.register_error_handler(RateLimitExceeded, _throttled)


def wants_json() -> bool:
    from app.errors import wants_json as _wants_json

    return _wants_json()


def _session_user():
    """The user of the request's session token (resolved once per request), or None."""
    if "ducha_session_resolved" in g:
        return g.ducha_session_user
    from app.security import sessions

    g.ducha_session_resolved = True
    g.ducha_session_user = g.user_session = None
    token = request.cookies.get(current_app.config["SESSION_TOKEN_COOKIE"])
    if not token or len(token) > 128:
        return None
    row, user, reason = sessions.resolve(token)
    if reason is not None or row is None:
        g.drop_session_cookie = True
        notice = sessions.NOTICES.get(reason or "")
        if notice:
            g.session_notice = notice
            if not wants_json():
                flash(notice, "warning")
        return None
    g.ducha_session_user, g.user_session = user, row
    return user


def bearer_token() -> str | None:
    """The bearer token of an API request (`Authorization: Bearer ...` under /api/), or None."""
    header = request.headers.get("Authorization", "")
    if not request.path.startswith("/api/") or header[:7].lower() != "bearer ":
        return None
    return header[7:].strip()


def _request_user():
    """An API request with a bearer token is the token's service account; anything else, the session's."""
    token = bearer_token()
    if token is None:
        return _session_user()
    if "ducha_token_resolved" in g:
        return g.ducha_session_user
    from app.security import tokens

    g.ducha_token_resolved = True
    user, row, reason = tokens.authenticate(token, ip=request.remote_addr)
    g.api_token, g.ducha_session_user = row if user is not None else None, user
    if reason is not None:
        g.session_notice = tokens.REASONS[reason]
    return user


def _load_user(user_id: str):
    # Flask-Login's id in the signed cookie is not trusted on its own: the session row decides.
    user = _request_user()
    if g.get("ducha_token_resolved"):
        return user
    return user if user is not None and str(user.id) == str(user_id) else None


def _unauthorized():
    message = g.get("session_notice") or "请先登录"
    if wants_json():
        from app.errors import json_error

        return json_error(401, "unauthorized", message)
    target = url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
        return "", 401, {"HX-Redirect": target}
    if not g.get("session_notice"):
        flash(message, "warning")
    return redirect(target)


def _enforce_account_steps():
    if request.endpoint in STEP_EXEMPT or request.endpoint is None:
        return None
    if not current_user.is_authenticated or g.get("api_token") is not None:
        return None  # a token is its own factor: service accounts have no password or TOTP steps
    from app.security import policy, totp

    if policy.password_change_required(current_user):
        message, target = "请先修改密码（首次登录、密码被重置或已超过有效期）", url_for("auth.change_password")
    elif totp.enrolment_required(current_user):
        message, target = "您的角色要求使用动态口令，请先完成绑定", url_for("security.totp_enrol")
    else:
        return None
    if wants_json():
        from app.errors import json_error

        return json_error(403, "forbidden", message)
    flash(message, "warning")
    if request.headers.get("HX-Request"):
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


def _session_cookie(response):
    cfg = current_app.config
    name = cfg["SESSION_TOKEN_COOKIE"]
    token = g.pop("new_session_token", None)
    if token:
        response.set_cookie(name, token, httponly=True, secure=cfg["SESSION_COOKIE_SECURE"], samesite="Lax", path="/")
    elif g.get("drop_session_cookie"):
        response.delete_cookie(name, path="/", httponly=True, secure=cfg["SESSION_COOKIE_SECURE"], samesite="Lax")
    # send_file answers "no-cache" (stored, revalidated): downloads of case data must not be stored either.
    signed_in = g.get("ducha_session_user") is not None and request.endpoint != "static"
    if signed_in and response.headers.get("Cache-Control") in (None, "no-cache"):
        response.headers["Cache-Control"] = "no-store"
    return response


def _throttled(exc: RateLimitExceeded):
    from app.errors import _respond

    db.session.rollback()
    return _respond(429, "too_many_requests", exc.description)
