"""Request parameters checked in one place: ids, page numbers, dates and months.

Anything malformed or out of range is a Chinese 400 (`app.errors.BadParameter`; services may raise it
too), never a 500 from the
database (ids above 2^63 overflow PostgreSQL's bigint and SQLite's integer; year 0001 or 9999 overflow
date arithmetic and time zones). Routes call these; the `int` URL converter (`BoundedInt`, installed by
`init_app`) applies the same id range to every `<int:...>` in a route.
"""

from __future__ import annotations

import re
from datetime import date

from werkzeug.routing import IntegerConverter

from app.errors import BadParameter, ChineseBadRequest

MAX_ID = 2**63 - 1
MAX_PAGE = 100_000
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2100, 12, 31)
RANGE_TEXT = f"{MIN_DATE.isoformat()} 至 {MAX_DATE.isoformat()}"


def int_id(value, field: str = "id", *, required: bool = True) -> int | None:
    """A database id: 1 .. 2^63-1."""
    text = str(value if value is not None else "").strip()
    if not text:
        if required:
            raise BadParameter("缺少编号参数", field)
        return None
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise BadParameter("编号无效或超出范围", field)
    return int(text)


def page_number(value) -> int:
    """A page number: empty or garbage means 1 (old links keep working); a number past MAX_PAGE is a 400."""
    text = str(value if value is not None else "").strip()
    if not text.isdigit():
        return 1
    if len(text) > 6 or int(text) > MAX_PAGE:
        raise BadParameter(f"页码超出范围（最大 {MAX_PAGE}）", "page")
    return max(1, int(text))


def day(value, field: str = "date", *, required: bool = False) -> date | None:
    """A calendar date YYYY-MM-DD between MIN_DATE and MAX_DATE."""
    text = str(value if value is not None else "").strip()
    if not text:
        if required:
            raise BadParameter("请填写日期", field)
        return None
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        raise BadParameter(f"日期“{text[:20]}”无效，应为存在的日期，格式 YYYY-MM-DD", field) from None
    if not MIN_DATE <= parsed <= MAX_DATE:
        raise BadParameter(f"日期超出范围（{RANGE_TEXT}）", field)
    return parsed


def month(value, field: str = "month") -> tuple[int, int] | None:
    """A month YYYY-MM inside the date range, as (year, month)."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    parts = text.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or not 1 <= int(parts[1]) <= 12:
        raise BadParameter(f"月份“{text[:20]}”无效，格式应为 YYYY-MM", field)
    year, mon = int(parts[0]), int(parts[1])
    if not MIN_DATE.year <= year <= MAX_DATE.year:
        raise BadParameter(f"月份超出范围（{MIN_DATE.year} 年至 {MAX_DATE.year} 年）", field)
    return year, mon


MAX_JSON_DEPTH = 32


def json_depth_ok(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Is a JSON body nested at most `limit` deep? (Python's parser would raise RecursionError: a 500.)"""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def check_json_body(request) -> None:
    """before_request: refuse JSON nested deeper than MAX_JSON_DEPTH with a Chinese 400."""
    if request.is_json and request.content_length and not json_depth_ok(request.get_data(cache=True)):
        raise BadParameter(f"JSON 嵌套层数过多（最多 {MAX_JSON_DEPTH} 层）")


class BoundedInt(IntegerConverter):
    """`<int:x>` in routes: an id past 2^63-1 is a Chinese 400 instead of a database overflow (500)."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID:
            raise ChineseBadRequest("编号无效或超出范围")
        return number


def init_app(app) -> None:
    from flask import request

    app.url_map.converters["int"] = BoundedInt
    app.before_request(lambda: check_json_body(request))


# marshmallow's English messages, in Chinese for the JSON API (app/inbox/api.py `_load`).
_MESSAGES_ZH = [
    (re.compile(r"^Missing data for required field\.$"), "缺少必填字段"),
    (re.compile(r"^Field may not be null\.$"), "不能为空"),
    (re.compile(r"^Unknown field\.$"), "不允许的字段"),
    (re.compile(r"^Not a valid string\.$"), "应为字符串"),
    (re.compile(r"^Not a valid integer\.$"), "应为整数"),
    (re.compile(r"^Not a valid number\.$"), "应为数字"),
    (re.compile(r"^Not a valid boolean\.$"), "应为 true 或 false"),
    (re.compile(r"^Not a valid datetime\.$"), "应为日期时间（ISO 8601）"),
    (re.compile(r"^Not a valid date\.$"), "应为日期（YYYY-MM-DD）"),
    (re.compile(r"^Not a valid list\.$"), "应为列表"),
    (re.compile(r"^Not a valid mapping type\.$"), "应为对象"),
    (re.compile(r"^Invalid input type\.$"), "请求体应为 JSON 对象"),
    (re.compile(r"^Invalid value\.$"), "取值无效"),
    (re.compile(r"^Must be one of: (.*)\.$"), "必须是以下之一：{0}"),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), "长度须在 {0} 到 {1} 之间"),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), "长度不能少于 {0}"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), "长度不能超过 {0}"),
    (re.compile(r"^Length must be (\d+)\.$"), "长度须为 {0}"),
    (
        re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
        "须在 {0} 到 {1} 之间",
    ),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"), "不能小于 {0}"),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"), "不能大于 {0}"),
    (re.compile(r"^Must be greater than (\S+)\.$"), "须大于 {0}"),
    (re.compile(r"^Must be less than (\S+)\.$"), "须小于 {0}"),
    (re.compile(r"^Number too large\.$"), "数值过大"),
]


def message_zh(text: str) -> str:
    for pattern, template in _MESSAGES_ZH:
        match = pattern.match(text)
        if match:
            return template.format(*match.groups())
    return text if re.search(r"[\u4e00-\u9fff]", text) else f"取值无效（{text}）"


def messages_zh(messages) -> dict:
    """marshmallow ValidationError.messages (nested dicts and lists) as {field path: Chinese text}."""
    out: dict[str, str] = {}

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[path or "_"] = "；".join(message_zh(v) for v in value)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, path)
        else:
            out[path or "_"] = message_zh(str(value))

    walk(messages, "")
    return out
