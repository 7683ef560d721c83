"""User-task forms: JSON Schema (+ ui schema) -> a field model for templates, coercion of posted
values, and validation with Chinese field messages.

Conventions follow SpiffArena/RJSF: `properties` with `title`, `type`, `enum` or `oneOf` [{const,
title}], `format` date/date-time; the ui schema gives `ui:order` and per field `ui:widget`
(textarea, radio, checkboxes, select, file, enterprise, user, org, signature), `ui:help`, `ui:placeholder`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from app.errors import ValidationFailed

PICKERS = {"enterprise", "user", "org"}


@dataclass
class Field:
    name: str
    title: str
    type: str
    widget: str
    required: bool
    options: list[tuple[Any, str]] = field(default_factory=list)
    help: str | None = None
    placeholder: str | None = None
    value: Any = None
    error: str | None = None
    permission: str = "edit"  # edit / readonly / hidden
    multiple: bool = False
    minimum: float | None = None
    maximum: float | None = None


def parse(text: str | None) -> dict:
    return json.loads(text) if text else {}


def _options(prop: dict) -> list[tuple[Any, str]]:
    source = prop.get("items", prop) if prop.get("type") == "array" else prop
    if "oneOf" in source:
        return [(o.get("const"), o.get("title", str(o.get("const")))) for o in source["oneOf"]]
    if "anyOf" in source and all("const" in o for o in source["anyOf"]):
        return [(o.get("const"), o.get("title", str(o.get("const")))) for o in source["anyOf"]]
    if "enum" in source:
        names = source.get("enumNames") or [str(v) for v in source["enum"]]
        return list(zip(source["enum"], names, strict=False))
    return []


def _widget(prop: dict, ui: dict) -> str:
    widget = ui.get("ui:widget")
    if widget:
        return widget
    kind = prop.get("type")
    fmt = prop.get("format")
    if kind == "boolean":
        return "checkbox"
    if kind == "array":
        return "checkboxes" if _options(prop) else "text"
    if _options(prop):
        return "select"
    if fmt == "date":
        return "date"
    if fmt == "date-time":
        return "datetime"
    if kind in ("integer", "number"):
        return "number"
    if fmt == "data-url":
        return "file"
    return "text"


def fields(
    schema: dict,
    ui_schema: dict | None = None,
    values: dict | None = None,
    errors: dict | None = None,
    permissions: dict[str, str] | None = None,
) -> list[Field]:
    ui_schema = ui_schema or {}
    values = values or {}
    errors = errors or {}
    props: dict = schema.get("properties", {})
    order = [n for n in ui_schema.get("ui:order", []) if n in props] + [
        n for n in props if n not in ui_schema.get("ui:order", [])
    ]
    required = set(schema.get("required", []))
    out = []
    for name in order:
        prop = props[name]
        ui = ui_schema.get(name, {})
        if ui.get("ui:widget") == "hidden":
            continue
        perm = (permissions or {}).get(name, "readonly" if prop.get("readOnly") or ui.get("ui:readonly") else "edit")
        if perm == "hidden":
            continue
        out.append(
            Field(
                name=name,
                title=prop.get("title", name),
                type=prop.get("type", "string"),
                widget=_widget(prop, ui),
                required=name in required,
                options=_options(prop),
                help=ui.get("ui:help") or prop.get("description"),
                placeholder=ui.get("ui:placeholder"),
                value=values.get(name, prop.get("default")),
                error=errors.get(name),
                permission=perm,
                multiple=prop.get("type") == "array",
                minimum=prop.get("minimum"),
                maximum=prop.get("maximum"),
            )
        )
    return out


def coerce(
    schema: dict, form, *, file_values: dict | None = None, permissions: dict | None = None, current: dict | None = None
) -> tuple[dict, dict]:
    """Posted strings -> typed values. Returns (data, errors). Read-only and hidden fields keep `current`."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    current = current or {}
    for name, prop in schema.get("properties", {}).items():
        perm = (permissions or {}).get(name, "readonly" if prop.get("readOnly") else "edit")
        if perm != "edit":
            if name in current:
                data[name] = current[name]
            continue
        title = prop.get("title", name)
        kind = prop.get("type", "string")
        if name not in form and name in current and kind != "boolean" and not (file_values and name in file_values):
            data[name] = current[name]  # a field the request did not carry keeps its value
            continue
        if file_values and name in file_values:
            data[name] = file_values[name]
            continue
        if kind == "array":
            items = [v for v in (form.getlist(name) if hasattr(form, "getlist") else form.get(name, [])) if v != ""]
            item_type = prop.get("items", {}).get("type", "string")
            try:
                data[name] = [_convert(v, item_type) for v in items]
            except ValueError:
                errors[name] = f"{title}的取值无效"
            continue
        raw = form.get(name)
        if kind == "boolean":
            data[name] = raw not in (None, "", "0", "false", "off", False)
            continue
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            continue
        try:
            data[name] = _convert(raw, kind)
        except ValueError:
            errors[name] = f"{title}请输入数字" if kind in ("integer", "number") else f"{title}格式不正确"
    return data, errors


def _convert(value: Any, kind: str) -> Any:
    if kind == "integer":
        return int(str(value).strip())
    if kind == "number":
        number = float(str(value).strip())
        return int(number) if number.is_integer() else number
    if kind == "boolean":
        return value in (True, "true", "1", "on")
    return value.strip() if isinstance(value, str) else value


def _message(error, schema: dict) -> tuple[str, str]:
    path = list(error.absolute_path)
    name = str(path[0]) if path else ""
    if error.validator == "required":
        name = error.message.split("'")[1] if "'" in error.message else name
    prop = schema.get("properties", {}).get(name, {})
    title = prop.get("title", name)
    v, arg = error.validator, error.validator_value
    messages = {
        "required": f"{title}为必填项",
        "type": f"{title}格式不正确",
        "minLength": f"{title}至少 {arg} 个字",
        "maxLength": f"{title}不能超过 {arg} 个字",
        "minimum": f"{title}不能小于 {arg}",
        "maximum": f"{title}不能大于 {arg}",
        "exclusiveMinimum": f"{title}必须大于 {arg}",
        "exclusiveMaximum": f"{title}必须小于 {arg}",
        "enum": f"{title}的取值无效",
        "const": f"{title}的取值无效",
        "oneOf": f"{title}的取值无效",
        "anyOf": f"{title}的取值无效",
        "pattern": f"{title}格式不正确",
        "minItems": f"{title}至少选择 {arg} 项",
        "maxItems": f"{title}最多选择 {arg} 项",
        "format": {
            "date": f"{title}不是有效的日期",
            "date-time": f"{title}不是有效的日期时间",
            "email": f"{title}不是有效的电子邮箱",
        }.get(str(arg), f"{title}格式不正确"),
    }
    return name or "_", messages.get(v, f"{title}：{error.message}")


def validate(schema: dict, data: dict) -> dict[str, str]:
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        name, message = _message(error, schema)
        errors.setdefault(name, message)
    return errors


def check(schema: dict, form, **kwargs) -> dict:
    """Coerce and validate; raise ValidationFailed with Chinese field messages, or return the data."""
    data, errors = coerce(schema, form, **kwargs)
    if not errors:
        errors = validate(schema, data)
    if errors:
        raise ValidationFailed("表单填写有误，请按提示修改", errors=errors)
    return data
