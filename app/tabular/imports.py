"""Imports from XLSX: read a sheet by its Chinese headers, hand each row to a service inside a savepoint,
and collect a row-level report in Chinese. Nothing is half-imported: when any row fails, the caller rolls
the whole transaction back (the route commits only a clean import).

Usage (a route)::

    from app.tabular.imports import ImportColumn, read_xlsx, run_rows

    COLUMNS = [ImportColumn("登录名", "login", required=True), ImportColumn("姓名", "name", required=True), ...]
    rows = read_xlsx(request.files["file"].read(), COLUMNS)        # ValidationFailed on a bad file
    report = run_rows(rows, COLUMNS, lambda row: services.create_user(...))
    if report.ok: db.session.commit() else: db.session.rollback()
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from app.errors import DomainError, ValidationFailed

MAX_ROWS = 5000


@dataclass(frozen=True)
class ImportColumn:
    header: str
    key: str
    required: bool = False
    aliases: tuple[str, ...] = ()


@dataclass
class RowProblem:
    row: int  # the spreadsheet's row number (the header is row 1)
    column: str
    message: str


@dataclass
class ImportReport:
    total: int = 0
    imported: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.total > 0


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_xlsx(data: bytes, columns: list[ImportColumn]) -> list[dict]:
    """Rows of the first sheet as dicts keyed by column key, plus ``_row``; a Chinese refusal for files that
    are not XLSX, miss a required header, are empty or too long."""
    from openpyxl import load_workbook

    if not data or not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValidationFailed("文件不是 Excel（.xlsx）格式，请用模板填写后上传", errors={"file": "不是 .xlsx 文件"})
    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
    except Exception as exc:  # a damaged workbook: say so in Chinese, never a 500
        raise ValidationFailed("Excel 文件无法读取，可能已损坏", errors={"file": "无法读取"}) from exc
    rows = sheet.iter_rows(values_only=True)
    header = [_cell(v).replace("（必填）", "").strip() for v in next(rows, ())]
    index = {}
    for col in columns:
        names = (col.header, *col.aliases)
        found = next((i for i, h in enumerate(header) if h in names), None)
        if found is None and col.required:
            raise ValidationFailed(
                f"缺少必填列「{col.header}」（第 1 行为表头）", errors={"file": f"缺少列 {col.header}"}
            )
        if found is not None:
            index[col.key] = found
    out = []
    for number, values in enumerate(rows, start=2):
        cells = {key: _cell(values[i]) if i < len(values) else "" for key, i in index.items()}
        if not any(cells.values()):
            continue
        out.append({"_row": number, **cells})
        if len(out) > MAX_ROWS:
            raise ValidationFailed(f"一次最多导入 {MAX_ROWS} 行，请分批导入", errors={"file": "行数过多"})
    if not out:
        raise ValidationFailed("文件中没有数据行", errors={"file": "没有数据"})
    return out


def run_rows(rows: list[dict], columns: list[ImportColumn], handle: Callable[[dict], object]) -> ImportReport:
    """Check required cells, then run ``handle(row)`` for each row; collect problems. Handlers are services
    that check first and raise a DomainError before they write (no savepoints: SQLite's driver would commit
    on releasing one); the caller rolls everything back when the report is not ok."""
    report = ImportReport(total=len(rows))
    headers = {c.key: c.header for c in columns}
    for row in rows:
        missing = [c.header for c in columns if c.required and not row.get(c.key)]
        if missing:
            report.problems += [RowProblem(row["_row"], h, "必填，不能为空") for h in missing]
            continue
        try:
            handle(row)
            report.imported += 1
        except DomainError as exc:
            errors = getattr(exc, "errors", None) or {}
            if errors:
                report.problems += [RowProblem(row["_row"], headers.get(k, k), str(v)) for k, v in errors.items()]
            else:
                report.problems.append(RowProblem(row["_row"], "", exc.message))
    return report


def template_xlsx(columns: list[ImportColumn], example: list[str] | None = None) -> bytes:
    """An empty import template: the Chinese headers (and an example row)."""
    from app.tabular.export import Column, to_xlsx

    cols = [Column(c.header + ("（必填）" if c.required else ""), i) for i, c in enumerate(columns)]
    return to_xlsx(cols, [example] if example else [], sheet="导入")
