"""Who is calling (account, permissions, scope, token) and the inbox counters."""

from __future__ import annotations

from flask import g
from flask_login import current_user, login_required

from app.api import bp
from app.api.schemas import Counts, Me
from app.inbox import queries
from app.security.access import permission_required
from app.security.scope import scope_for


@bp.get("/me")
@login_required
def me():
    """The caller.
    ---
    get:
      tags: [账号]
      summary: 当前调用者
      description: 调用者的账号、单位、有效权限与数据范围；
        用 API 令牌访问时还有令牌的用途与到期时间（权限为令牌与账号角色的交集）。
      responses:
        200: {description: 调用者, content: {application/json: {schema: Me}}}
    """
    token = g.get("api_token")
    return Me().dump(
        {
            "id": current_user.id,
            "login": current_user.login,
            "name": current_user.name,
            "org_name": current_user.org.name,
            "service_account": current_user.service_account,
            "permissions": sorted(current_user.permissions),
            "scope": scope_for(current_user).label,
            "token_name": token.name if token is not None else None,
            "token_expires_at": token.expires_at if token is not None else None,
        }
    )


@bp.get("/counts")
@permission_required("inbox.use")
def counts():
    """Counters.
    ---
    get:
      tags: [待办]
      summary: 待办数与未读抄送数
      responses:
        200: {description: 计数, content: {application/json: {schema: Counts}}}
    """
    return Counts().dump(queries.counts(current_user))
