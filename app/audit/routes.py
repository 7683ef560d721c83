"""The audit administrator's pages: search, CSV export (itself audited) and chain verification."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import Select, select

from app.audit import services as audit
from app.audit.models import AuditEntry
from app.extensions import db
from app.portal.paging import paginate
from app.security.access import permission_required

bp = Blueprint("audit", __name__, url_prefix="/audit")

FILTERS = ("date_from", "date_to", "actor", "action", "object_type", "object_id")
CSV_HEADER = ["序号", "时间", "操作人ID", "操作人", "IP", "操作", "对象类型", "对象ID", "详情", "链值"]


def _day(value: str | None) -> datetime | None:
    try:
        day = datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))


def _filters() -> dict[str, str]:
    return {k: (request.args.get(k) or "").strip() for k in FILTERS}


def _query(f: dict[str, str]) -> Select:
    stmt = select(AuditEntry)
    start, end = _day(f["date_from"]), _day(f["date_to"])
    if start:
        stmt = stmt.where(AuditEntry.at >= start)
    if end:
        stmt = stmt.where(AuditEntry.at < end + timedelta(days=1))
    if f["actor"]:
        stmt = stmt.where(AuditEntry.actor_login.contains(f["actor"], autoescape=True))
    if f["action"]:
        if f["action"].endswith("*"):
            stmt = stmt.where(AuditEntry.action.startswith(f["action"][:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == f["action"])
    if f["object_type"]:
        stmt = stmt.where(AuditEntry.object_type == f["object_type"])
    if f["object_id"]:
        stmt = stmt.where(AuditEntry.object_id == f["object_id"])
    return stmt


def _render(result=None):
    f = _filters()
    page = paginate(_query(f).order_by(AuditEntry.id.desc()), request.args.get("page"), per_page=50)
    actions = db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    return render_template("audit/index.html", page=page, f=f, actions=actions, result=result)


@bp.get("")
@permission_required("audit.read")
def index():
    return _render()


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # Spreadsheet formula injection: a leading = + - @ would run as a formula in Excel/WPS.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.get("/export.csv")
@permission_required("audit.read")
def export():
    f = _filters()
    limit = current_app.config["AUDIT_EXPORT_MAX_ROWS"]
    rows = db.session.scalars(_query(f).order_by(AuditEntry.id).limit(limit)).all()
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    buf = io.StringIO()
    buf.write("\ufeff")  # BOM: Excel opens UTF-8 Chinese correctly
    writer = csv.writer(buf)
    writer.writerow(CSV_HEADER)
    for e in rows:
        writer.writerow(
            [
                e.id,
                e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
                e.actor_id,
                _cell(e.actor_login),
                _cell(e.ip),
                _cell(e.action),
                _cell(e.object_type),
                _cell(e.object_id),
                _cell(json.dumps(e.detail, ensure_ascii=False, sort_keys=True)),
                e.mac,
            ]
        )
    audit.record(
        "audit.export",
        actor=current_user,
        ip=request.remote_addr,
        detail={"filters": {k: v for k, v in f.items() if v}, "rows": len(rows), "truncated": len(rows) >= limit},
    )
    db.session.commit()
    stamp = datetime.now(tz).strftime("%Y%m%d-%H%M%S")
    return Response(
        buf.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )


@bp.post("/verify")
@permission_required("audit.read")
def verify():
    result = audit.verify()
    audit.record(
        "audit.verify",
        actor=current_user,
        ip=request.remote_addr,
        detail={"ok": result.ok, "checked": result.checked, "problems": result.problems[:20]},
    )
    db.session.commit()
    return _render(result)
