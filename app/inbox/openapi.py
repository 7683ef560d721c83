"""The OpenAPI document of /api/v1, built by apispec from the marshmallow schemas and view docstrings."""

from __future__ import annotations

from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring
from flask import current_app

from app.inbox import schemas


@lru_cache(maxsize=1)
def _build(rules: tuple) -> dict:
    spec = APISpec(
        title="督查系统 API",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "待办与流程接口。会话登录；POST 请求需带 X-CSRFToken 头。"},
    )
    for name in ("TaskPage", "TaskDetail", "CompleteInput", "ReturnInput", "CommentInput", "ErrorSchema"):
        spec.components.schema(name, schema=getattr(schemas, name))
    for path, view_name in rules:
        view = current_app.view_functions[view_name]
        operations = load_operations_from_docstring(view.__doc__ or "")
        if operations:
            spec.path(path=path, operations=operations)
    return spec.to_dict()


def spec_dict() -> dict:
    rules = []
    for rule in current_app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api_inbox.openapi":
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            rules.append((path, rule.endpoint))
    return _build(tuple(sorted(rules)))
