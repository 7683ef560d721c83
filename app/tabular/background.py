"""Large exports as background jobs with progress (app/reports/jobs.py): a list with more rows than
``EXPORT_BACKGROUND_ROWS`` (default 2,000) is not written inside the web request; a job reads the rows in
chunks, reports "已读取 n / N 行", writes the XLSX (or CSV) through the one export helper and leaves the file
in app.storage (``exports/<file>``) for its creator to download (``/jobs/exports/<file>``; the file name carries
the creator's id).

Exports are registered by name (``@exporter("instances")``): ``fn(user, args) -> (columns, select, total,
filename, sheet)``; the same function serves the job (by name, so the job worker can run it).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from urllib.parse import quote

from flask import abort, current_app, render_template
from flask_login import current_user, login_required

from app.errors import ValidationFailed
from app.extensions import db
from app.ops.replica import replica_reads
from app.storage import files

CHUNK = 500
_EXPORTERS: dict[str, Callable] = {}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE = re.compile(r"^(\d+)-([0-9a-f]{16})\.(xlsx|csv)$")


def exporter(name: str):
    def decorator(fn):
        _EXPORTERS[name] = fn
        return fn

    return decorator


def threshold() -> int:
    return int(current_app.config.get("EXPORT_BACKGROUND_ROWS", 2000))


def count_rows(stmt) -> int:
    """Rows of a list's select (its ORDER BY dropped): what decides between a direct file and a job."""
    from sqlalchemy import func, select

    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def start(name: str, *, user, args: dict, fmt: str, title: str):
    """Queue the export job; returns the page that shows its progress (the caller commits)."""
    from app.reports.jobs import start_job

    if fmt not in ("xlsx", "csv"):
        raise ValidationFailed("导出格式只能是 xlsx 或 csv", errors={"format": "未知格式"})
    job = start_job(f"export.{name}", export_job, user=user, name=name, user_id=user.id, args=args, fmt=fmt)
    return render_template("tabular/export_job.html", job=job, title=title)


def send_or_start(name: str, stmt, columns, *, user, args: dict, fmt: str, filename: str, sheet: str, title: str):
    """A list's export: the file at once, or (more than ``threshold()`` rows) the background job ``name`` with its
    progress page. ``stmt`` is the list's scoped select; ``args`` let the registered exporter rebuild it."""
    from app.tabular.export import send

    if count_rows(stmt) > threshold():
        page = start(name, user=user, args=args, fmt=fmt, title=title)
        db.session.commit()
        return page
    rows = db.session.scalars(stmt.limit(10000)).unique().all()
    return send(columns, rows, filename=filename, fmt=fmt, sheet=sheet)


def export_job(report, *, name: str, user_id: int, args: dict, fmt: str) -> dict:
    """Job function: read the rows in chunks with progress, write the file, return its download URL."""
    from app.auth.models import User
    from app.tabular.export import to_csv, to_xlsx

    user = db.session.get(User, user_id)
    if user is None:
        raise ValidationFailed("发起导出的账号不存在")
    with replica_reads():  # a pure read: the streaming replica when configured (app/ops/replica.py)
        columns, stmt, total, filename, sheet = _EXPORTERS[name](user, args)
        rows = []
        report(1, f"共 {total} 行，开始读取")
        for offset in range(0, max(total, 1), CHUNK):
            chunk = db.session.scalars(stmt.offset(offset).limit(CHUNK)).unique().all()
            rows += chunk
            report(5 + int(75 * len(rows) / max(total, 1)), f"已读取 {len(rows)} / {total} 行")
            if len(chunk) < CHUNK:
                break
        rows = rows[:total]
        report(85, f"正在写入 {'Excel' if fmt == 'xlsx' else 'CSV'} 文件（{len(rows)} 行）")
        data = to_xlsx(columns, rows, sheet=sheet) if fmt == "xlsx" else to_csv(columns, rows)
    stored = f"{user_id}-{secrets.token_hex(8)}.{fmt}"
    files.put_new(files.EXPORTS + stored, data, XLSX_TYPE if fmt == "xlsx" else "text/csv")
    return {
        "url": f"/jobs/exports/{stored}?name={quote(filename)}",
        "message": f"已导出 {len(rows)} 行，可以下载",
        "rows": len(rows),
    }


def stored_exports():
    """(name, last modified UTC or None) of every export file kept for download (the retention round).

    The object store gives no modification time through app.storage; files without one (S3) are
    removed by their job's age instead (app/ops/retention.py)."""
    from datetime import UTC, datetime

    from app.storage import get_storage

    store = get_storage()
    for key in list(store.iter_keys(files.EXPORTS)):
        name = key[len(files.EXPORTS) :]
        if not FILE.match(name):
            continue
        path = store.local_path(key)
        modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC) if path is not None and path.is_file() else None
        yield name, modified


def export_exists(stored: str) -> bool:
    return FILE.match(stored) is not None and files.exists(files.EXPORTS + stored)


def remove_export(stored: str) -> bool:
    """Remove one export file; False when it was already gone (another scheduler got there first)."""
    if not FILE.match(stored):
        return False
    return files.delete(files.EXPORTS + stored)


def register(bp) -> None:
    @bp.get("/jobs/exports/<stored>")
    @login_required
    def export_download(stored: str):
        """An export file, for the person who asked for it only."""
        from flask import request

        found = FILE.match(stored)
        if found is None or int(found.group(1)) != current_user.id:
            abort(404)
        name = (request.args.get("name") or "导出")[:60].replace("/", "_")
        return files.send(
            files.EXPORTS + stored,
            mimetype=XLSX_TYPE if found.group(3) == "xlsx" else "text/csv",
            download_name=f"{name}.{found.group(3)}",
            missing="导出文件不存在或已被清理，请重新导出",
        )
