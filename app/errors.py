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

Pages get an HTML error page; paths under /api/ (and requests that ask for JSON) get one JSON shape,
`error_body()`: {"code": code, "message": Chinese message, "errors": {field: Chinese message}}. A
malformed request body is 400, missing authentication 401. `from_marshmallow()` turns a marshmallow
ValidationError into ValidationFailed (422) with flat field paths. htmx requests get a fragment. A
refusal (403, 409, 422) of a form posted from one of our pages answers on that page: the form carries
``_back`` (the ``csrf()`` macro adds it), the message is flashed and the browser goes back there (303).
The session is rolled back before any error response.
"""

from __future__ import annotations

import logging

from flask import Flask, flash, jsonify, make_response, redirect, render_template, request
from werkzeug.exceptions import BadRequest as HTTPBadRequest
from werkzeug.exceptions import HTTPException

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


class ChineseBadRequest(HTTPBadRequest):
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


class BadRequest(DomainError):
    status = 400
    code = "bad_request"
    default_message = "请求格式错误"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    default_message = "请先登录"


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_body(code: str, message: str, errors: dict | None = None) -> dict:
    """The one JSON error shape of the API."""
    return {"code": code, "message": message, "errors": {str(k): str(v) for k, v in (errors or {}).items()}}


def json_error(status: int, code: str, message: str, errors: dict | None = None):
    return jsonify(error_body(code, message, errors)), status


# marshmallow's own messages, in Chinese (field-specific messages are set on the schemas).
MARSHMALLOW_MESSAGES = {
    "Missing data for required field.": "必填项",
    "Field may not be null.": "不能为空",
    "Unknown field.": "不支持的字段",
    "Not a valid string.": "应为文本",
    "Not a valid integer.": "应为整数",
    "Not a valid number.": "应为数字",
    "Not a valid boolean.": "应为 true 或 false",
    "Not a valid list.": "应为列表",
    "Not a valid mapping type.": "应为对象",
    "Invalid input type.": "类型不正确",
    "Must be one of: ": "取值无效，可选：",
    "Length must be between ": "长度应在 ",
    "Shorter than minimum length ": "长度不能少于 ",
    "Longer than maximum length ": "长度不能超过 ",
    "Invalid input.": "输入无效",
}


def _chinese(message: str) -> str:
    for english, chinese in MARSHMALLOW_MESSAGES.items():
        if message.startswith(english):
            return chinese + message[len(english) :].replace(" and ", " 到 ").rstrip(".")
    return message


def _flatten(messages, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(_flatten(value, name))
            else:
                out[name] = "；".join(_chinese(str(v)) for v in (value if isinstance(value, list) else [value]))
    else:
        items = messages if isinstance(messages, list) else [messages]
        out[prefix or "_schema"] = "；".join(_chinese(str(v)) for v in items)
    return out


def from_marshmallow(exc) -> ValidationFailed:
    """A marshmallow ValidationError as the project's 422, field paths flattened ("data.amount")."""
    return ValidationFailed("请求数据有误，请按提示修改", errors=_flatten(exc.messages))


def _respond(status: int, code: str, message: str, errors: dict | None = None):
    if wants_json():
        return json_error(status, code, message, errors)
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
        response, status = _respond(status, exc.name.lower().replace(" ", "_"), message)
        if status == 405 and getattr(exc, "valid_methods", None):
            response = make_response(response, status)
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # RFC 9110: a 405 says what is allowed
        return response, status

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        if app.config.get("PROPAGATE_UNEXPECTED"):
            raise exc
        return _respond(500, "internal_error", HTTP_MESSAGES[500])


# ---------------------------------------------------------------------------------------------
# the end of a form post on a page: commit and say so, or roll back and say why


def done(message: str, to: str):
    """A successful form post: commit, flash ``message`` and go to ``to``."""
    db.session.commit()
    flash(message, "success")
    return redirect(to)


def attempt(action, success=None):
    """Run ``action()`` (a service call that flushes, never commits) for a page.

    Returns ``(result, None)`` after a commit (and a flashed ``success``: a text, or a callable of the
    result), or ``(None, exc)`` after a rollback when the service refused with ValidationFailed; the
    caller shows ``exc`` on its form (``field_errors(exc)``) or flashes it (``act()``)."""
    try:
        result = action()
    except ValidationFailed as exc:
        db.session.rollback()
        return None, exc
    db.session.commit()
    if success is not None:
        flash(success(result) if callable(success) else success, "success")
    return result, None


def field_errors(exc: ValidationFailed | None) -> dict:
    """The errors a form shows for a refusal: its field errors, or its message under "_"."""
    if exc is None:
        return {}
    return exc.errors or {"_": exc.message}


def act(action, success, to: str):
    """A form post that goes back to a page either way: the service's refusal is flashed there."""
    _, exc = attempt(action, success)
    if exc is not None:
        flash(exc.message, "danger")
    return redirect(to)
