"""The one export helper for every CSV/XLSX download.

Usage (a route)::

    from app.tabular.export import Column, send

    COLUMNS = [
        Column("线索编号", "number"),                       # attribute (or dict key) of the row
        Column("登记时间", "registered_at", kind="datetime"),
        Column("所属区", lambda c: c.district_org.name, width=16),
        Column("金额", 3, kind="number", number_format="#,##0.00"),  # index into a list row
    ]
    return send(COLUMNS, rows, filename="线索", fmt=request.args.get("format", "csv"))

API:
- `Column(header, get, kind="text"|"number"|"date"|"datetime", width=14, number_format=None)`: `get` is a
  callable `row -> value`, an attribute/dict-key name, or a list index. Headers are Chinese.
- `to_csv(columns, rows) -> bytes`: UTF-8 with a BOM (Excel/WPS read Chinese correctly), CRLF lines.
- `to_xlsx(columns, rows, sheet="导出") -> bytes`: openpyxl, bold frozen header row, column widths, a
  number format per column (dates as real dates in Asia/Shanghai, text columns as text "@").
- `send(columns, rows, filename=, fmt="csv"|"xlsx", sheet=)` -> a Flask attachment `Response`; the file
  name gets a timestamp and the extension, sent ASCII-safe plus RFC 5987 `filename*` for Chinese.
- `safe_text(value)`: the formula-injection guard, for anyone writing cells by hand.

Formula injection: a text cell starting with = + - @ TAB or CR would be run as a formula by Excel/WPS
(`=HYPERLINK(...)`, DDE). In CSV such a cell is prefixed with an apostrophe; in XLSX the cell is written as
a string with the quote-prefix style (the text is unchanged but can never become a formula, even when
edited). Numbers and dates are written as typed values and are never guarded.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Response, current_app

from app.errors import ValidationFailed

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}
_XLSX_FORMATS = {"text": "@", "number": "General", "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm"}


@dataclass(frozen=True)
class Column:
    header: str
    get: Callable | str | int
    kind: str = "text"
    width: int = 14
    number_format: str | None = None

    def value(self, row):
        if callable(self.get):
            return self.get(row)
        if isinstance(self.get, int) or isinstance(row, dict):
            return row[self.get]
        return getattr(row, self.get)


def safe_text(value) -> str:
    """Text of a cell, with an apostrophe in front when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_LEADS) else text


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))


def _local(value: datetime) -> datetime:
    return value.astimezone(_tz()).replace(tzinfo=None) if value.tzinfo else value


def _csv_value(col: Column, value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M" if col.kind != "date" else "%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return safe_text(value)


def to_csv(columns: Sequence[Column], rows: Iterable) -> bytes:
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([safe_text(c.header) for c in columns])
    for row in rows:
        writer.writerow([_csv_value(c, c.value(row)) for c in columns])
    return buf.getvalue().encode("utf-8")


def to_xlsx(columns: Sequence[Column], rows: Iterable, *, sheet: str = "导出") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    bold = Font(bold=True)
    for i, col in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=i)
        _put_text(cell, col.header)
        cell.font = bold
        ws.column_dimensions[get_column_letter(i)].width = col.width
    formats = [c.number_format or _XLSX_FORMATS.get(c.kind, "General") for c in columns]
    for r, row in enumerate(rows, start=2):
        for i, col in enumerate(columns, start=1):
            cell = ws.cell(row=r, column=i)
            value = col.value(row)
            if value is None:
                continue
            if isinstance(value, bool):
                _put_text(cell, "是" if value else "否")
            elif isinstance(value, datetime):
                cell.value = _local(value)
            elif isinstance(value, (date, int, float, Decimal)):
                cell.value = value
            else:
                _put_text(cell, str(value))
            cell.number_format = formats[i - 1]
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _put_text(cell, text: str) -> None:
    # openpyxl turns a str starting with "=" into a formula: store it as a string, quote-prefixed.
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_LEADS):
        cell.quotePrefix = True


def send(
    columns: Sequence[Column], rows: Iterable, *, filename: str, fmt: str | None = "csv", sheet: str = "导出"
) -> Response:
    """An attachment response with the rows as CSV or XLSX (`fmt`); an unknown format is a Chinese 422."""
    fmt = (fmt or "csv").lower()
    if fmt not in FORMATS:
        raise ValidationFailed("导出格式只能是 CSV 或 Excel（xlsx）", errors={"format": "不支持的导出格式"})
    mimetype, ext = FORMATS[fmt]
    body = to_csv(columns, rows) if fmt == "csv" else to_xlsx(columns, rows, sheet=sheet)
    stamp = datetime.now(_tz()).strftime("%Y%m%d-%H%M%S")
    name = f"{filename}-{stamp}.{ext}"
    ascii_name = name.encode("ascii", "ignore").decode().strip("-") or f"export.{ext}"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": disposition})
