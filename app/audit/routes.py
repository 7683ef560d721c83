"""The audit administrator's pages: search, CSV export (itself audited) and chain verification."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import Select, select

from app import names
from app.audit import services as audit
from app.audit.models import AuditEntry
from app.extensions import db
from app.portal import params
from app.portal.paging import paginate
from app.security.access import permission_required
from app.tabular.export import Column, send

bp = Blueprint("audit", __name__, url_prefix="/audit")

FILTERS = ("date_from", "date_to", "actor", "action", "object_type", "object_id")


def _day(value: str | None, field: str) -> datetime | None:
    day = params.day(value, field)
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(current_app.config["TIMEZONE"])) if day else None


def _filters() -> dict[str, str]:
    return {k: (request.args.get(k) or "").strip() for k in FILTERS}


def _query(f: dict[str, str]) -> Select:
    stmt = select(AuditEntry)
    start, end = _day(f["date_from"], "date_from"), _day(f["date_to"], "date_to")
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


EXPORT_COLUMNS = [
    Column("序号", "id", kind="number", width=8),
    Column("时间", "at", kind="datetime", width=18),
    Column("操作人ID", "actor_id", kind="number", width=10),
    Column("操作人", lambda e: names.user(e.actor_login) if e.actor_login else "系统"),
    Column("IP", "ip"),
    Column("操作", lambda e: names.audit_action(e.action), width=20),
    Column("对象类型", lambda e: names.object_type(e.object_type)),
    Column("对象ID", "object_id"),
    Column("详情", lambda e: "；".join(f"{k}：{v}" for k, v, _known in names.audit_entry_detail(e)), width=40),
    Column("链值", "mac", width=30),
    Column("登录名", "actor_login"),
    Column("操作代码", "action", width=20),
    Column("详情（原始）", lambda e: json.dumps(e.detail, ensure_ascii=False, sort_keys=True), width=40),
]


@bp.get("/export.csv", defaults={"fmt": "csv"})
@bp.get("/export.xlsx", defaults={"fmt": "xlsx"})
@permission_required("audit.read")
def export(fmt: str):
    from sqlalchemy import func

    from app.tabular import background

    f = _filters()
    limit = current_app.config["AUDIT_EXPORT_MAX_ROWS"]
    total = db.session.scalar(select(func.count()).select_from(_query(f).subquery())) or 0
    if total > background.threshold():  # a large export: a background job with progress
        audit.record(
            "audit.export",
            actor=current_user,
            ip=request.remote_addr,
            detail={
                "filters": {k: v for k, v in f.items() if v},
                "rows": min(total, limit),
                "truncated": total > limit,
                "format": fmt,
            },
        )
        page = background.start("audit", user=current_user, args=f, fmt=fmt, title="审计日志")
        db.session.commit()
        return page
    rows = db.session.scalars(_query(f).order_by(AuditEntry.id).limit(limit)).all()
    audit.record(
        "audit.export",
        actor=current_user,
        ip=request.remote_addr,
        detail={
            "filters": {k: v for k, v in f.items() if v},
            "rows": len(rows),
            "truncated": len(rows) >= limit,
            "format": fmt,
        },
    )
    db.session.commit()
    return send(EXPORT_COLUMNS, rows, filename="audit", fmt=fmt, sheet="审计日志")


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


def _audit_export(user, args: dict):
    """The background export of the audit log with the page's filters (app/tabular/background.py)."""
    from sqlalchemy import func

    limit = current_app.config["AUDIT_EXPORT_MAX_ROWS"]
    f = {k: (args.get(k) or "").strip() for k in FILTERS}
    stmt = _query(f).order_by(AuditEntry.id)
    total = min(db.session.scalar(select(func.count()).select_from(_query(f).subquery())) or 0, limit)
    return EXPORT_COLUMNS, stmt.limit(total), total, "audit", "审计日志"


def _register_exports() -> None:
    from app.tabular.background import exporter

    exporter("audit")(_audit_export)


_register_exports()
