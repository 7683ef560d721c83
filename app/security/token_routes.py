"""The security administrator's page for service accounts and their API tokens (接口令牌)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth.models import Role, User
from app.auth.permissions import PERMISSIONS
from app.errors import DomainError, NotFound
from app.extensions import db
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.security import tokens
from app.security.access import permission_required
from app.security.scope import scope_for

bp = Blueprint("api_tokens", __name__, url_prefix="/security/api-tokens")
STATES = {"active": "有效", "expired": "已过期", "revoked": "已吊销"}


def _org(value: str | None) -> Organisation | None:
    if not value or not value.isdigit():
        return None
    return db.session.get(Organisation, int(value))


def _page(*, issued: str | None = None, errors: dict | None = None, status: int = 200):
    orgs_stmt = select(Organisation).order_by(Organisation.path)
    return render_template(
        "security/api_tokens.html",
        tokens=tokens.tokens(current_user),
        accounts=tokens.service_accounts(current_user),
        orgs=list(db.session.scalars(scope_for(current_user).filter_org(orgs_stmt, Organisation.id))),
        roles=list(db.session.scalars(select(Role).order_by(Role.id))),
        permissions=PERMISSIONS,
        states=STATES,
        now=utcnow(),
        issued=issued,
        errors=errors or {},
        form=request.form,
    ), status


@bp.get("/")
@permission_required("security.admin")
def index():
    return _page()


@bp.post("/accounts")
@permission_required("security.admin")
def create_account():
    f = request.form
    try:
        account = tokens.create_service_account(
            current_user,
            login=f.get("login", ""),
            name=f.get("name", ""),
            org=_org(f.get("org_id")),
            roles=f.getlist("roles"),
        )
    except DomainError as exc:
        db.session.rollback()
        return _page(errors={**exc.errors, "_": exc.message}, status=exc.status)
    db.session.commit()
    flash(f"服务账号“{account.name}”（{account.login}）已创建，请为其签发 API 令牌", "success")
    return redirect(url_for(".index"))


@bp.post("/")
@permission_required("security.admin")
def issue():
    f = request.form
    account_id = f.get("account_id", "")
    account = db.session.get(User, int(account_id)) if account_id.isdigit() else None
    try:
        if account is None:
            raise NotFound("服务账号不存在")
        days = f.get("days", "")
        _token, text = tokens.issue(
            current_user,
            account=account,
            name=f.get("name", ""),
            permissions=f.getlist("permissions"),
            scope_org=_org(f.get("scope_org_id")),
            days=int(days) if days.isdigit() else 0,
        )
    except DomainError as exc:
        db.session.rollback()
        return _page(errors={**exc.errors, "_": exc.message}, status=exc.status)
    db.session.commit()
    # Shown once, in this response only (never in a redirect's flash cookie).
    return _page(issued=text)


@bp.post("/<int:token_id>/revoke")
@permission_required("security.admin")
def revoke(token_id: int):
    token = tokens.get(current_user, token_id)
    tokens.revoke(current_user, token)
    db.session.commit()
    flash(f"API 令牌“{token.name}”已吊销，使用它的请求将被拒绝", "success")
    return redirect(url_for(".index"))
