"""API tokens for service accounts: issued by the security administrator, sent as `Authorization: Bearer`.

A token is `dct_` + 256 random bits. Only its HMAC-SM3 under the password pepper is stored (a copy of
the table does not let anyone test guesses offline); it is shown once, when issued. Each token names
the permissions it may use (a subset of the account's) and a data scope (an organisation inside the
account's scope), and expires. Issuing and revoking are audited; the acts done with a token are
audited by the services as acts of the service account.

Authentication is one SQL statement (token, account, its organisation and roles, the scope
organisation). `last_used_at` is written at most once a minute in its own short transaction, like
the session loader's touch (a GET request never commits).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.audit import services as audit
from app.auth.models import Role, User
from app.auth.permissions import PERMISSIONS
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.security.models import ApiToken
from app.security.scope import scope_for
from app.security.sm import hmac_sm3

PREFIX = "dct_"
TOUCH_EVERY = timedelta(seconds=60)
MAX_DAYS = 366
REASONS = {
    "unknown": "API 令牌无效",
    "revoked": "API 令牌已被吊销",
    "expired": "API 令牌已过期",
    "account": "API 令牌所属的服务账号已停用",
    "scope": "API 令牌的数据范围已超出服务账号的范围，请重新签发",
}


def digest(token: str) -> str:
    key = str(current_app.config["PASSWORD_PEPPER"]).encode("utf-8")
    return hmac_sm3(key, token.encode("ascii", "replace")).hex()


def _require_admin(actor) -> None:
    if actor is None or not actor.can("security.admin"):
        raise PermissionDenied("只有安全管理员可以管理 API 令牌")


# ---------------------------------------------------------------------------------------------
# service accounts and tokens (the security administrator's page)


def create_service_account(actor, *, login: str, name: str, org: Organisation | None, roles: list[str]) -> User:
    """A service account: no usable password (it never logs in interactively), roles as chosen."""
    from app.auth.services import create_user

    _require_admin(actor)
    if org is None:
        raise ValidationFailed("请选择所属单位", errors={"org": "请选择所属单位"})
    if not scope_for(actor).contains(org):
        raise PermissionDenied("不能在本单位数据范围之外创建服务账号")
    roles = [r for r in roles if r]
    if not roles:
        raise ValidationFailed("请至少选择一个角色", errors={"roles": "请选择角色"})
    known = set(db.session.scalars(select(Role.code).where(Role.code.in_(roles))))
    if known != set(roles):
        raise ValidationFailed("角色不存在", errors={"roles": "角色不存在"})
    user = create_user(
        login=login,
        name=name,
        org=org,
        password=secrets.token_urlsafe(32) + "Aa1!",
        roles=roles,
        must_change_password=False,
        actor=None,
        check_policy=False,
    )
    user.service_account = True
    db.session.flush()
    audit.record(
        "service_account.create",
        actor=actor,
        object_type="user",
        object_id=user.id,
        detail={"login": user.login, "roles": sorted(roles), "org": org.code},
    )
    return user


def service_accounts(actor) -> list[User]:
    stmt = select(User).where(User.service_account.is_(True)).order_by(User.login)
    return list(db.session.scalars(scope_for(actor).filter_org(stmt, User.org_id)))


def issue(
    actor,
    *,
    account: User,
    name: str,
    permissions: list[str],
    scope_org: Organisation | None = None,
    days: int = 90,
) -> tuple[ApiToken, str]:
    """Issue a token; returns the row and the token text (shown once, never stored)."""
    _require_admin(actor)
    if not scope_for(actor).contains(account.org):
        raise NotFound("服务账号不存在")
    if not account.service_account:
        raise ValidationFailed("只能为服务账号签发 API 令牌", errors={"account": "不是服务账号"})
    if account.status == "disabled":
        raise Conflict("服务账号已停用")
    errors = {}
    name = (name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = "请填写用途（不超过 100 字）"
    wanted = {p for p in permissions if p}
    if not wanted:
        errors["permissions"] = "请至少选择一项权限"
    elif unknown := wanted - set(PERMISSIONS):
        errors["permissions"] = "权限不存在：" + "、".join(sorted(unknown))
    elif extra := wanted - account.permissions:
        errors["permissions"] = "超出服务账号角色的权限：" + "、".join(PERMISSIONS[p] for p in sorted(extra))
    scope_org = scope_org or account.org
    if not scope_for(account).contains(scope_org):
        errors["scope_org"] = "数据范围必须在服务账号所属单位的范围之内"
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        errors["days"] = f"有效期应为 1 到 {MAX_DAYS} 天"
    if errors:
        raise ValidationFailed(errors=errors)
    text = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=account.id,
        name=name,
        prefix=text[:10],
        token_hash=digest(text),
        permissions=sorted(wanted),
        scope_org_id=scope_org.id,
        created_by_id=actor.id,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "api_token.issue",
        actor=actor,
        object_type="api_token",
        object_id=token.id,
        detail={"account": account.login, "permissions": sorted(wanted), "scope": scope_org.code, "days": days},
    )
    return token, text


def tokens(actor) -> list[ApiToken]:
    stmt = (
        select(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .options(joinedload(ApiToken.user), joinedload(ApiToken.scope_org))
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return list(db.session.scalars(scope_for(actor).filter_org(stmt, User.org_id)))


def get(actor, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or not scope_for(actor).contains(token.user.org):
        raise NotFound("API 令牌不存在")
    return token


def revoke(actor, token: ApiToken) -> ApiToken:
    _require_admin(actor)
    if token.revoked_at is not None:
        raise Conflict("该令牌已被吊销")
    token.revoked_at, token.revoked_by_id = utcnow(), actor.id
    db.session.flush()
    audit.record("api_token.revoke", actor=actor, object_type="api_token", object_id=token.id)
    return token


# ---------------------------------------------------------------------------------------------
# authentication (the request loader)


def authenticate(text: str, *, ip: str | None = None, now: datetime | None = None):
    """(user narrowed by the token, token, None) for a valid token, else (None, token or None, reason)."""
    if not text.startswith(PREFIX) or len(text) > 100:
        return None, None, "unknown"
    token = (
        db.session.execute(
            select(ApiToken)
            .options(joinedload(ApiToken.user).joinedload(User.roles), joinedload(ApiToken.scope_org))
            .where(ApiToken.token_hash == digest(text))
        )
        .unique()
        .scalar_one_or_none()
    )
    if token is None:
        return None, None, "unknown"
    now = now or utcnow()
    user = token.user
    reason = token.state(now)
    if reason == "active" and (user is None or not user.is_active or not user.service_account):
        reason = "account"
    if reason == "active" and not scope_for(user).contains(token.scope_org):
        reason = "scope"
    if reason != "active":
        return None, token, reason
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        with db.engine.begin() as conn:
            conn.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now, last_used_ip=ip))
        set_committed_value(token, "last_used_at", now)
        set_committed_value(token, "last_used_ip", ip)
    user.token_permissions = frozenset(token.permissions or ())
    user.token_scope_org = token.scope_org
    return user, token, None
