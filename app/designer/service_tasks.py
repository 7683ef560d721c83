"""The service tasks the designer compiles to: ``inbox.cc`` (抄送人) and ``http.call`` (触发器).

Registered in the engine's registry when this module is imported (the designer blueprint imports it,
so every app built by ``create_app`` has them). Both take literal parameters written by the compiler.
"""

from __future__ import annotations

import json
from typing import Any

from app.designer import outbound
from app.engine.errors import EngineError
from app.engine.services import current_instance, current_task, service

MAX_RESPONSE_BYTES = 64 * 1024
MAX_TIMEOUT = 30


@service("inbox.cc")
def carbon_copy(data: dict, users: list | None = None, note: str | None = None) -> dict:
    """抄送: the listed users get the instance in their 抄送我的 tab and a notification."""
    from app.inbox import collab

    logins = [str(u).strip() for u in (users or []) if str(u).strip()]
    instance = current_instance()
    if instance is None:  # a dry run or a test of the bare engine: nothing to copy to
        return {"users": logins, "sent": 0}
    task = current_task()
    step = (task.task_spec.bpmn_name or task.task_spec.bpmn_id) if task is not None else "抄送"
    sent = collab.carbon_copy(instance, None, users=logins, note=note or None, step_name=step)
    return {"users": logins, "sent": sent}


def _body(raw: bytes, content_type: str) -> Any:
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


@service("http.call")
def http_call(
    data: dict,
    url: str = "",
    method: str = "POST",
    fields: list | None = None,
    timeout: int = 10,
    onError: str = "fail",
) -> dict:
    """触发器: call an HTTP endpoint with the chosen fields as JSON; the response is stored in task data.

    Only http/https, no redirects, a timeout of at most 30 s, at most 64 KiB of response kept, only public
    addresses or explicitly opened networks, and only listed hosts (required in production): see
    ``app/designer/outbound.py``. A failure stops the process
    as an incident (retried from the process admin pages) unless the node says ``onError: continue``.
    """
    method = (method or "POST").upper()
    try:
        if method not in ("GET", "POST", "PUT"):
            raise EngineError(f"触发器的请求方式「{method}」不被支持")
        payload = {f: data.get(f) for f in (fields or [])}
        instance = current_instance()
        if instance is not None:
            payload["_instance"] = {"id": instance.id, "number": instance.number, "process": instance.process_id}
        body = None if method == "GET" else json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        seconds = max(1, min(int(timeout or 10), MAX_TIMEOUT))
        status, content_type, raw = outbound.request(
            url, method=method, body=body, headers=headers, timeout=seconds, limit=MAX_RESPONSE_BYTES
        )
        result = {"ok": 200 <= status < 300, "status": status, "body": _body(raw, content_type)}
        if not result["ok"] and onError != "continue":
            raise EngineError(f"触发器调用 {url} 返回 HTTP {status}")
        return result
    except EngineError as exc:
        if onError == "continue":
            return {"ok": False, "status": None, "error": exc.message}
        raise
