"""Service-task registry: an operation name in BPMN ("clue.generate_report") -> a Python callable.

Domain modules mark their operations (`@service("clue.generate_report")`) and register them from
their `init_app`, which `create_app` calls: importing a module registers nothing. A callable
receives the task data (a copy) and the evaluated parameters as keyword arguments and returns a
JSON-serialisable value, stored by SpiffWorkflow in the task's result variable. A callable that acts
on the instance itself (抄送) reads ``current_instance()`` / ``current_task()``: the runtime sets them
while it runs engine steps (None in a dry run or outside the runtime).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from app.engine.errors import EngineError
from app.engine.scripting import RestrictedScriptEngine

_REGISTRY: dict[str, Callable[..., Any]] = {}
_PREVIEWS: dict[str, Callable[..., Any]] = {}
_INSTANCE: ContextVar[Any] = ContextVar("ducha_service_instance", default=None)
_TASK: ContextVar[Any] = ContextVar("ducha_service_task", default=None)


@contextmanager
def running(instance) -> Iterator[None]:
    """Mark ``instance`` as the one whose engine steps run now (for services that act on it)."""
    token = _INSTANCE.set(instance)
    try:
        yield
    finally:
        _INSTANCE.reset(token)


def current_instance():
    """The ProcessInstance whose engine steps are running, or None."""
    return _INSTANCE.get()


def current_task():
    """The SpiffWorkflow task of the service call in progress, or None."""
    return _TASK.get()


def service(name: str, *, preview: Callable[..., Any] | None = None):
    """Mark `fn` as the service task `name`; a module's `init_app` registers it (`register_services`).
    ``preview`` (same arguments, no side effects) tells 流程预测 what the operation would return, e.g. the
    unit a clue will be dispatched to."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.ducha_service = name
        fn.ducha_preview = preview
        return fn

    return decorator


def linked(model, data: dict, key: str, what: str):
    """The business row a process's data points at (`data[key]` holds its id), for a service callable;
    a Chinese NotFound ("流程关联的<what>不存在") when it is gone."""
    from app.errors import NotFound
    from app.extensions import db

    row = db.session.get(model, int(data.get(key) or 0))
    if row is None:
        raise NotFound(f"流程关联的{what}不存在")
    return row


class Linked:
    """The business row of a process (``data[key]`` holds its id) and what a service task usually does to it.

    One per process, in its module: ``PLAN = Linked(MonthlyPlan, "plan_id", "计划", object_type="plan")``;
    ``PLAN(data)`` is ``linked()``; ``PLAN.settle(data, "published", stamp="published_at", audit="plan.publish")``
    loads the row, sets its status, the ``stamp`` column(s) to now and any other ``fields``, records the audit
    action (by the system) when one is named, and returns the row."""

    def __init__(self, model, key: str, what: str, *, object_type: str | None = None):
        self.model, self.key, self.what = model, key, what
        self.object_type = object_type or model.__tablename__

    def __call__(self, data: dict):
        return linked(self.model, data, self.key, self.what)

    def settle(
        self,
        data: dict,
        status: str | None = None,
        *,
        stamp: str | tuple[str, ...] = (),
        audit: str | None = None,
        detail: dict | None = None,
        **fields,
    ):
        from app.models_base import utcnow

        row = self(data)
        if status is not None:
            row.status = status
        now = utcnow()
        for name in (stamp,) if isinstance(stamp, str) else stamp:
            setattr(row, name, now)
        for name, value in fields.items():
            setattr(row, name, value)
        if audit:
            from app.audit import services as audit_services

            audit_services.record(audit, object_type=self.object_type, object_id=row.id, detail=detail)
        return row


def last_actor(data: dict):
    """The User who did the step before a service task (`last_actor` in the data), None for the system."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.extensions import db

    login = data.get("last_actor")
    if not login or login == "system":
        return None
    return db.session.scalar(select(User).where(User.login == login))


def register_services(module) -> list[str]:
    """Register every function of `module` marked with `@service` (called from the module's init_app)."""
    names = []
    for value in vars(module).values():
        name = getattr(value, "ducha_service", None) if inspect.isfunction(value) else None
        if name:
            _REGISTRY[name] = value
            if getattr(value, "ducha_preview", None) is not None:
                _PREVIEWS[name] = value.ducha_preview
            names.append(name)
    return names


def preview_of(name: str) -> Callable[..., Any] | None:
    """The side-effect-free preview of a registered operation, if it has one."""
    return _PREVIEWS.get(name)


def registered() -> list[str]:
    return sorted(_REGISTRY)


class DuchaScriptEngine(RestrictedScriptEngine):
    """The restricted script engine plus registered service tasks."""

    def call_service(self, task, operation_name: str, operation_params: dict, **_kwargs) -> str:
        fn = _REGISTRY.get(operation_name)
        if fn is None:
            raise EngineError(f"服务任务“{operation_name}”未注册")
        params = {name: p.get("value") for name, p in (operation_params or {}).items()}
        token = _TASK.set(task)
        try:
            result = fn(dict(task.data), **params)
        finally:
            _TASK.reset(token)
        return json.dumps(result, ensure_ascii=False, default=str)


_ENGINE = DuchaScriptEngine()


def script_engine() -> DuchaScriptEngine:
    """The one shared engine (stateless: compiled code is cached, data lives in tasks)."""
    return _ENGINE
