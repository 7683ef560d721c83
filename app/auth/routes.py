"""Login, logout and own-password pages."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.audit import services as audit
from app.auth import services
from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.security.access import safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("portal.home")))
    error = None
    if request.method == "POST":
        login_name = request.form.get("login", "")
        try:
            user = services.authenticate(login_name, request.form.get("password", ""), ip=request.remote_addr)
        except PermissionDenied as exc:
            db.session.commit()  # keep the failure count and the audit entry
            error = exc.message
        else:
            db.session.commit()
            login_user(user)
            if user.must_change_password:
                return redirect(url_for("auth.change_password", next=request.args.get("next")))
            return redirect(safe_next(request.args.get("next"), url_for("portal.home")))
    return render_template("auth/login.html", error=error), (401 if error else 200)


@bp.post("/logout")
@login_required
def logout():
    audit.record("logout", actor=current_user, ip=request.remote_addr)
    db.session.commit()
    logout_user()
    flash("您已安全退出", "info")
    return redirect(url_for("auth.login"))


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
                return redirect(safe_next(request.args.get("next"), url_for("portal.home")))
    return render_template("auth/password.html", errors=errors), (422 if errors else 200)
