"""Request ids and structured (JSON) logs.

Every request gets an id: the X-Request-ID header a proxy or client sent (when it is 1-128 characters
of letters, digits, `.`, `_`, `-`, `:`), else a new random one. It is kept in `g.request_id`, sent back in
the X-Request-ID response header and written into every log line logged while the request runs.

LOG_FORMAT (DUCHA_LOG_FORMAT): "json" writes one JSON object per line (time, level, logger, message,
request_id, and for the access line method, path, endpoint, status, duration_ms, ip, user_id); "text"
(default outside production) the usual human-readable lines. ACCESS_LOG (DUCHA_ACCESS_LOG, default on in
production) writes one access line per request from the app, which knows the route and the user; gunicorn's
own access log can then be left off.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
access_log = logging.getLogger("ducha.access")


def incoming_request_id(value: str | None) -> str:
    """The caller's id when it is safe to echo and log, else a fresh one."""
    if value and _VALID_ID.match(value):
        return value
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields given with `extra={"fields": {...}}` are merged in."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(app: Flask) -> None:
    """Put the request-id filter (and the JSON formatter when asked) on the root logger's handlers."""
    root = logging.getLogger()
    as_json = app.config.get("LOG_FORMAT") == "json"
    for handler in root.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        if as_json and not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(JsonFormatter())


def begin_request() -> None:
    g.request_id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))
    g.ops_log_started = time.perf_counter()


def end_request(response):
    from flask import current_app

    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = g.pop("ops_log_started", None)
    if started is not None and current_app.config.get("ACCESS_LOG") and request.endpoint != "static":
        user = g.get("ducha_session_user")
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "fields": {
                    "method": request.method,
                    "path": request.path,
                    "endpoint": request.endpoint,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "ip": request.remote_addr,
                    "user_id": getattr(user, "id", None),
                }
            },
        )
    return response
