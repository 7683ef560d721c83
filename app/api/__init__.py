"""The JSON API under /api/v1: one blueprint, one module per area (tasks, instances, processes, clues,
account, openapi). Routes parse the body with a marshmallow schema, call the same services as the
pages, commit once and serialise; errors are the one JSON shape of `app/errors.py`.

Authentication: the browser session (cookie; POST/PUT/PATCH/DELETE carry the X-CSRFToken header) or
an API token of a service account (`Authorization: Bearer dct_...`, app/security/tokens.py). A bearer
request is exempt from CSRF only when it carries no session cookie: a page's script cannot borrow a
logged-in browser's cookie by adding a made-up bearer header.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, request
from marshmallow import Schema, ValidationError

from app.errors import BadRequest, NotFound, from_marshmallow
from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # checked below, with the bearer rule


@bp.before_request
def _csrf_unless_bearer_only():
    cfg = current_app.config
    if not cfg.get("WTF_CSRF_ENABLED", True) or request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    bearer = request.headers.get("Authorization", "")[:7].lower() == "bearer "
    cookies = (cfg["SESSION_TOKEN_COOKIE"], cfg.get("SESSION_COOKIE_NAME") or "session")
    if bearer and not any(name in request.cookies for name in cookies):
        return None
    csrf.protect()
    return None


ID_MAX = 2**63 - 1

_SCHEMAS: dict[type, Schema] = {}


def schema(cls: type[Schema]) -> Schema:
    """One instance per schema class: building a schema (its fields, nested schemas) costs more than using
    it, and a schema without a context is safe to share between requests and threads."""
    found = _SCHEMAS.get(cls)
    if found is None:
        found = _SCHEMAS[cls] = cls()
    return found


@bp.url_value_preprocessor
def _ids_in_range(_endpoint, values):
    """An id no database column can hold names nothing: 404, not a driver overflow."""
    for value in (values or {}).values():
        if isinstance(value, int) and not 0 < value <= ID_MAX:
            raise NotFound()


def body(schema: Schema) -> dict:
    """The request's JSON object loaded by a schema: 400 when it is not a JSON object, 422 per field."""
    raw = request.get_data(cache=True)
    try:
        payload = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise BadRequest("请求体不是有效的 JSON") from exc
    if not isinstance(payload, dict):
        raise BadRequest("请求体应为 JSON 对象")
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise from_marshmallow(exc) from exc


def init_api(app) -> None:
    from app.api import account, cases, clues, instances, openapi, processes, soe, tasks  # noqa: F401  (routes)
    from app.exchange import api as exchange_api  # noqa: F401  (SOE reporting routes)

    app.register_blueprint(bp)


def query(schema: Schema) -> dict:
    """The query string loaded by a schema (422 per parameter)."""
    try:
        return schema.load(request.args.to_dict())
    except ValidationError as exc:
        raise from_marshmallow(exc) from exc
