"""The OpenAPI document of /api/v1 (apispec: the marshmallow schemas and each view's docstring) and the
Swagger UI page at /api-docs (swagger-ui-dist bundled by scripts/build.mjs, no CDN). Both need a logged-in
user or a valid API token.

Every operation gets the error responses it can give, in the one JSON shape (`ErrorSchema`): 401 and
403 always, 404 when the path names an object, and 400/409/422 for writes.
"""

from __future__ import annotations

from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring
from flask import Blueprint, current_app, render_template, url_for
from flask_login import login_required

from app.api import bp, schemas

TAGS = [
    {"name": "待办", "description": "待办与已办、任务详情，以及任务页面上的每一个操作（与页面同样的规则和提示）"},
    {"name": "流程", "description": "可发起的流程、发起表单与发起"},
    {"name": "流程实例", "description": "实例详情、历史、流程图、流程预测、撤回、终止、评论、附件、抄送"},
    {"name": "线索核查", "description": "线索登记（发起线索核查流程）与线索详情"},
    {"name": "案卷评查", "description": "案件列表与详情（当事人、违法行为、文书、自动检查、评查）、文书下载、导入"},
    {"name": "国企交流", "description": "监管指导建议：列表、交流记录与阅读回执、回复（集团反馈、监管部门审阅）"},
    {"name": "账号", "description": "当前调用者"},
]
ERRORS = {
    400: ("BadRequest", "请求格式错误：请求体不是 JSON 对象，或 CSRF 校验失败（会话访问的写操作须带 X-CSRFToken 头）"),
    401: ("Unauthorized", "未登录，或 API 令牌无效、已过期、已吊销"),
    403: ("Forbidden", "没有权限（角色或令牌的权限不含此操作，或须先修改密码）"),
    404: ("NotFound", "对象不存在或不在调用者的数据范围内"),
    409: ("Conflict", "状态冲突：任务已被他人处理、流程已结束或已变化"),
    422: ("Unprocessable", "数据校验失败：errors 逐字段给出中文提示"),
}
DESCRIPTION = """督查系统的待办与流程接口：与页面调用同样的服务，遵循同样的规则，给出同样的中文提示。

认证二选一：
- 浏览器会话（登录后的 Cookie）：POST 请求须带 `X-CSRFToken` 头（页面 `<meta name="csrf-token">`）。
- API 令牌（服务账号，由安全管理员签发）：`Authorization: Bearer dct_...`。令牌限定权限与数据范围，
  到期或吊销后返回 401。只带令牌、不带会话 Cookie 的请求不做 CSRF 校验。

错误一律为 JSON：`{"code": "...", "message": "中文提示", "errors": {"字段": "中文提示"}}`。"""

docs_bp = Blueprint("api_docs", __name__)


def _operations(view_name: str, view, path: str) -> dict:
    operations = load_operations_from_docstring(view.__doc__ or "")
    for method, operation in operations.items():
        operation.setdefault("operationId", view_name.rsplit(".", 1)[-1])
        operation.setdefault("security", [{"bearer": []}, {"session": []}])
        codes = [401, 403]
        if "{" in path:
            codes.append(404)
        if method != "get":
            codes += [400, 409, 422]
        responses = operation.setdefault("responses", {})
        for code in sorted(codes):
            responses.setdefault(code, ERRORS[code][0])
    return operations


@lru_cache(maxsize=4)
def _build(rules: tuple, server: str) -> dict:
    spec = APISpec(
        title="督查系统 API",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": DESCRIPTION},
        servers=[{"url": server, "description": "本系统"}],
        tags=TAGS,
    )
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "服务账号的 API 令牌（dct_ 开头）"}
    )
    spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": "ducha_session", "description": "浏览器会话"}
    )
    spec.components.schema("ErrorSchema", schema=schemas.ErrorSchema)
    for name, description in ERRORS.values():
        spec.components.response(
            name, {"description": description, "content": {"application/json": {"schema": "ErrorSchema"}}}
        )
    for path, view_name in rules:
        view = current_app.view_functions[view_name]
        spec.path(path=path, operations=_operations(view_name, view, path))
    return spec.to_dict()


def spec_dict() -> dict:
    rules = []
    for rule in current_app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi":
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            rules.append((path[len("/api/v1") :], rule.endpoint))
    return _build(tuple(sorted(rules)), "/api/v1")


@bp.get("/openapi.json")
@login_required
def openapi():
    """The OpenAPI document (for logged-in users and valid tokens)."""
    return spec_dict()


@docs_bp.get("/api-docs")
@login_required
def docs():
    """Swagger UI over the OpenAPI document ("try it out" sends the page's CSRF token)."""
    return render_template("api/docs.html", spec_url=url_for("api.openapi"))
