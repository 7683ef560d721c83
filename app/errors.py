"""Domain exceptions and the one place that maps them to HTTP responses.

Services raise these; they never raise HTTP exceptions. Hierarchy:

    DomainError                 base, carries a Chinese message for people
      NotFound          -> 404
      PermissionDenied  -> 403
      ValidationFailed  -> 422  (field errors in .errors: {field: message})
      Conflict          -> 409  (stale task, already handled, version clash)
      WorkflowError     -> 500  (engine failure; becomes an incident)
      BadParameter      -> 400  (an id, page number, date or month out of range: app/portal/params.py)

URL converters can only raise werkzeug exceptions: they raise `ChineseBadRequest`, shown as is.

Pages get an HTML error page; paths under /api/ get JSON {"error": code, "message": ..., "errors": ...};
htmx requests get a fragment. A refusal (403, 409, 422) of a form posted from one of our pages answers on
that page: the form carries ``_back`` (the ``csrf()`` macro adds it), the message is flashed and the
browser goes back there (303). The session is rolled back before any error response.
"""

from __future__ import annotations

import logging

from flask import Flask, flash, jsonify, redirect, render_template, request
from werkzeug.exceptions import BadRequest, HTTPException

from app.extensions import db

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    code = "error"
    default_message = "请求无法处理"

    def __init__(self, message: str | None = None, *, errors: dict | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.errors = errors or {}


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = "对象不存在或已被删除"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    default_message = "您没有权限执行此操作"


class ValidationFailed(DomainError):
    status = 422
    code = "invalid"
    default_message = "提交的数据有误，请检查后重试"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = "数据已被他人修改，请刷新后重试"


class WorkflowError(DomainError):
    status = 500
    code = "workflow_error"
    default_message = "流程执行出错，已记录为异常事件"


class BadParameter(DomainError):
    """A request parameter out of range or malformed (app/portal/params.py): 400, never a 500."""

    status = 400
    code = "bad_parameter"
    default_message = "请求参数无效"

    def __init__(self, message: str | None = None, field: str | None = None):
        super().__init__(message, errors={field: message or self.default_message} if field else None)


class ChineseBadRequest(BadRequest):
    """A 400 raised where only werkzeug exceptions pass (URL converters); its description is shown."""


HTTP_MESSAGES = {
    400: "请求格式错误",
    401: "请先登录",
    403: "您没有权限访问此页面",
    404: "页面不存在",
    405: "不支持的请求方式",
    413: "上传的文件过大",
    429: "请求过于频繁，请稍后再试",
    500: "系统内部错误，请联系管理员",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _respond(status: int, code: str, message: str, errors: dict | None = None):
    if wants_json():
        body = {"error": code, "message": message}
        if errors:
            body["errors"] = errors
        return jsonify(body), status
    if request.headers.get("HX-Request"):
        return render_template("errors/fragment.html", status=status, message=message, errors=errors), status
    back = _back_to_page(status)
    if back is not None:
        flash(message, "danger")
        for text in dict.fromkeys(v for v in (errors or {}).values() if isinstance(v, str) and v != message):
            flash(text, "danger")
        return redirect(back, 303)
    return render_template("errors/error.html", status=status, message=message, errors=errors), status


REFUSALS = (403, 409, 422)


def _back_to_page(status: int) -> str | None:
    """The page a refused form was posted from (a local path), when the refusal should answer there."""
    if status not in REFUSALS or request.method != "POST":
        return None
    back = request.form.get("_back") or ""
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        return None
    return back


def form_back() -> str:
    """For the ``csrf()`` macro: the page a form is on (empty inside htmx partials and POST responses)."""
    if request.method != "GET" or request.headers.get("HX-Request"):
        return ""
    return request.full_path.rstrip("?")


def register_error_handlers(app: Flask) -> None:
    app.jinja_env.globals["form_back"] = form_back

    @app.errorhandler(DomainError)
    def handle_domain(exc: DomainError):
        db.session.rollback()
        return _respond(exc.status, exc.code, exc.message, exc.errors)

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        db.session.rollback()
        status = exc.code or 500
        message = HTTP_MESSAGES.get(status, exc.description or "请求无法处理")
        if isinstance(exc, ChineseBadRequest):
            return _respond(400, "bad_parameter", exc.description)
        if status == 400 and "CSRF" in (exc.description or ""):
            message = "表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试"
        return _respond(status, exc.name.lower().replace(" ", "_"), message)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        if app.config.get("PROPAGATE_UNEXPECTED"):
            raise exc
        return _respond(500, "internal_error", HTTP_MESSAGES[500])
