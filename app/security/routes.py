"""Own security pages (我的会话, 动态口令) and the security administrator's second-factor page."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from app.audit import services as audit
from app.auth import separation
from app.auth import services as accounts
from app.auth.models import User
from app.errors import DomainError, NotFound
from app.extensions import db
from app.portal.paging import paginate
from app.security import sessions, totp
from app.security.access import permission_required, safe_next
from app.security.models import UserSession, UserTotp
from app.security.scope import scope_for

bp = Blueprint("security", __name__)


@bp.get("/account/sessions")
@login_required
def my_sessions():
    current = g.get("user_session")
    return render_template(
        "security/sessions.html",
        rows=sessions.list_for(current_user),
        current_id=current.id if current is not None else None,
    )


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    row = sessions.get_own(current_user, session_id)
    if row is None:
        raise NotFound("会话不存在")
    current = g.get("user_session")
    is_current = current is not None and current.id == row.id
    sessions.end(row, "logout" if is_current else "revoked")
    audit.record("session.end", actor=current_user, object_type="session", object_id=row.id, ip=request.remote_addr)
    db.session.commit()
    if is_current:
        logout_user()
        session.clear()
        g.drop_session_cookie = True
        flash("当前会话已结束，请重新登录", "info")
        return redirect(url_for("auth.login"))
    flash("会话已结束", "success")
    return redirect(url_for(".my_sessions"))


@bp.route("/account/totp", methods=["GET", "POST"])
@login_required
def totp_enrol():
    if totp.is_enrolled(current_user):
        return render_template(
            "security/totp_status.html",
            remaining=totp.remaining_recovery_codes(current_user),
            required=totp.required_for(current_user),
        )
    errors: dict = {}
    if request.method == "POST":
        try:
            codes = totp.confirm_enrolment(current_user, request.form.get("code", ""))
        except DomainError as exc:
            db.session.rollback()
            errors = exc.errors or {"code": exc.message}
        else:
            db.session.commit()
            # Shown once, never stored in clear; a redirect would lose them on purpose.
            return render_template(
                "security/recovery_codes.html", codes=codes, next_url=safe_next(request.args.get("next"), "/")
            )
    secret = totp.begin_enrolment(current_user)
    db.session.commit()  # keep the pending secret so a reload shows the same QR code
    uri = totp.provisioning_uri(current_user, secret)
    return render_template(
        "security/totp_enrol.html",
        secret=secret,
        qr=totp.qr_data_uri(uri),
        errors=errors,
        required=totp.required_for(current_user),
    ), (422 if errors else 200)


@bp.post("/account/totp/recovery-codes")
@login_required
def regenerate_recovery_codes():
    if totp.verify(current_user, request.form.get("code", "")) != "totp":
        db.session.rollback()
        flash("动态口令不正确，恢复码未重新生成", "danger")
        return redirect(url_for(".totp_enrol"))
    codes = totp.new_recovery_codes(current_user)
    audit.record("totp.recovery_codes", actor=current_user, object_type="user", object_id=current_user.id)
    db.session.commit()
    return render_template("security/recovery_codes.html", codes=codes, next_url=url_for(".totp_enrol"))


@bp.get("/security/users")
@permission_required("security.admin")
def user_factors():
    scope = scope_for(current_user)
    stmt = scope.filter_org(select(User, UserTotp.confirmed_at).outerjoin(UserTotp), User.org_id)
    q = (request.args.get("q") or "").strip()
    if q:
        stmt = stmt.where(User.name.contains(q, autoescape=True) | User.login.contains(q, autoescape=True))
    page = paginate(stmt.order_by(User.login), request.args.get("page"), scalars=False)
    active = set(
        db.session.scalars(
            select(UserSession.user_id).where(
                UserSession.ended_at.is_(None), UserSession.user_id.in_([u.id for u, _ in page.items])
            )
        )
    )
    return render_template("security/users.html", page=page, active=active, required_for=totp.required_for)


def _scoped_user(user_id: int) -> User:
    user = accounts.get_user(user_id)
    if not scope_for(current_user).contains(user.org):
        raise NotFound("用户不存在或不在您的数据范围内")
    return user


@bp.post("/security/users/<int:user_id>/totp/reset")
@permission_required("security.admin")
def reset_totp(user_id: int):
    user = _scoped_user(user_id)
    totp.reset(user, actor=current_user)
    db.session.commit()
    flash(f"已重置 {user.login} 的动态口令，该用户下次登录须重新绑定", "success")
    return redirect(url_for(".user_factors"))


@bp.post("/security/users/<int:user_id>/sessions/end")
@permission_required("security.admin")
def end_user_sessions(user_id: int):
    user = _scoped_user(user_id)
    count = sessions.end_all(user, "account")
    audit.record("session.end_all", actor=current_user, object_type="user", object_id=user.id, detail={"count": count})
    db.session.commit()
    flash(f"已结束 {user.login} 的 {count} 个会话", "success")
    return redirect(url_for(".user_factors"))


@bp.route("/security/users/<int:user_id>/roles", methods=["GET", "POST"])
@permission_required("role.admin")
def user_admin_roles(user_id: int):
    """三员分立: the security administrator grants and withdraws administrative roles (rule 3)."""
    user = _scoped_user(user_id)
    errors: dict = {}
    if request.method == "POST":
        try:
            separation.assign_admin_roles(user, actor=current_user, codes=request.form.getlist("roles"))
        except DomainError as exc:
            db.session.rollback()
            errors = {"_": exc.message}
        else:
            db.session.commit()
            flash(f"已保存 {user.login} 的管理类角色", "success")
            return redirect(url_for(".user_factors"))
    return render_template(
        "security/user_roles.html",
        user=user,
        roles=separation.admin_roles(),
        business=[r for r in user.roles if not separation.is_admin_role(r)],
        errors=errors,
    ), (422 if errors else 200)
