"""Request parameters checked in one place: ids, page numbers, dates and months.

Anything malformed or out of range is a Chinese 400 (`app.errors.BadParameter`), never a 500 from the
database (ids above 2^63 overflow PostgreSQL's bigint and SQLite's integer; year 0001 or 9999 overflow
date arithmetic and time zones). Routes call these; the `int` URL converter (`BoundedInt`, installed by
`init_app`) applies the same id range to every `<int:...>` in a route.
"""

from __future__ import annotations

from datetime import date

from werkzeug.routing import IntegerConverter

from app.errors import BadParameter

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


class BoundedInt(IntegerConverter):
    """`<int:x>` in routes: an id past 2^63-1 is a Chinese 400 instead of a database overflow (500)."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID:
            raise BadParameter("编号无效或超出范围")
        return number


def init_app(app) -> None:
    app.url_map.converters["int"] = BoundedInt
