"""Login (password, then a TOTP code when enrolled), logout and own-password pages."""

from __future__ import annotations

import time

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.audit import services as audit
from app.auth import services
from app.auth.models import User
from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.security import policy, sessions, totp
from app.security.access import safe_next
from app.security.limits import login_throttle

bp = Blueprint("auth", __name__)

MFA_KEY = "mfa_pending"
MFA_SECONDS = 300


def _establish(user: User, *, method: str = "password", notice: str | None = None):
    """Every factor passed: one service call for the login, one for the session, one commit."""
    next_url = request.args.get("next")
    services.finish_login(user, ip=request.remote_addr, method=method)
    row, token = sessions.start(user, ip=request.remote_addr, user_agent=request.user_agent.string)
    # Decided and the user marked logged in before the commit, while the rows are loaded: after it they
    # are expired, and reading them again cost two more statements on every login.
    if policy.password_change_required(user):
        target = url_for("auth.change_password", next=next_url)
    elif totp.enrolment_required(user):
        target = url_for("security.totp_enrol", next=next_url)
    else:
        target = safe_next(next_url, url_for("portal.home"))
    session.clear()  # nothing from before the login survives into the new session
    login_user(user)
    db.session.commit()
    g.new_session_token, g.user_session = token, row
    g.ducha_session_resolved, g.ducha_session_user = True, user
    if notice:
        flash(notice, "warning")
    return redirect(target)


@bp.route("/login", methods=["GET", "POST"])
@login_throttle()
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("portal.home")))
    error = None
    if request.method == "POST":
        login_name = request.form.get("login", "")
        try:
            user = services.authenticate(
                login_name, request.form.get("password", ""), ip=request.remote_addr, finish=False
            )
        except PermissionDenied as exc:
            db.session.commit()  # keep the failure count and the audit entry
            error = exc.message
        else:
            if not totp.is_enrolled(user):
                return _establish(user)
            db.session.commit()
            session[MFA_KEY] = {"uid": user.id, "exp": int(time.time()) + MFA_SECONDS}
            return redirect(url_for("auth.login_verify", next=request.args.get("next")))
    return render_template("auth/login.html", error=error), (401 if error else 200)


def _pending_user() -> User | None:
    pending = session.get(MFA_KEY)
    if not pending or pending.get("exp", 0) < time.time():
        session.pop(MFA_KEY, None)
        return None
    return db.session.get(User, pending.get("uid"))


@bp.route("/login/verify", methods=["GET", "POST"])
@login_throttle()
def login_verify():
    """Second step: a code from the authenticator app or a recovery code."""
    user = _pending_user()
    if user is None:
        flash("登录已超时，请重新输入账号和密码", "warning")
        return redirect(url_for("auth.login", next=request.args.get("next")))
    error = None
    if request.method == "POST":
        if services.is_locked(user) or user.status == "disabled":
            session.pop(MFA_KEY, None)
            error = "账号因多次失败已临时锁定，请稍后再试"
        else:
            method = totp.verify(user, request.form.get("code", ""))
            if method:
                notice = None
                if method == "recovery":
                    notice = f"已使用一个恢复码，剩余 {totp.remaining_recovery_codes(user)} 个，请尽快重新生成"
                return _establish(user, method=method, notice=notice)
            services.register_failure(user, reason="totp", ip=request.remote_addr)
            db.session.commit()
            error = "动态口令不正确"
    return render_template("auth/verify.html", error=error), (401 if error else 200)


@bp.post("/logout")
@login_required
def logout():
    row = g.get("user_session")
    if row is not None:
        sessions.end(row, "logout")
    audit.record("logout", actor=current_user, ip=request.remote_addr)
    db.session.commit()
    logout_user()
    session.clear()
    g.drop_session_cookie = True
    flash("您已安全退出", "info")
    resp = redirect(url_for("auth.login"))
    # The phone keeps nothing of the cases after logout: drafts, the service worker and its cache.
    resp.headers["Clear-Site-Data"] = '"cache", "storage"'
    return resp


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    errors = {}
    if request.method == "POST":
        if request.form.get("password") != request.form.get("password2"):
            errors = {"password2": "两次输入的新密码不一致"}
        else:
            try:
                services.change_own_password(
                    current_user,
                    old_password=request.form.get("old_password", ""),
                    new_password=request.form.get("password", ""),
                )
            except ValidationFailed as exc:
                db.session.rollback()
                errors = exc.errors
            else:
                db.session.commit()
                flash("密码已修改", "success")
                if totp.enrolment_required(current_user):
                    return redirect(url_for("security.totp_enrol", next=request.args.get("next")))
                return redirect(safe_next(request.args.get("next"), url_for("portal.home")))
    expired = policy.password_expired(current_user)
    return render_template("auth/password.html", errors=errors, expired=expired), (422 if errors else 200)
