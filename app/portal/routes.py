"""Home page and health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from flask_login import current_user, login_required
from sqlalchemy import text

from app.extensions import db
from app.security.scope import scope_for

bp = Blueprint("portal", __name__)


@bp.get("/")
@login_required
def home():
    from app.inbox.notify import MATTERS
    from app.portal.workbench import build

    wb = build(current_user)
    return render_template(
        "portal/home.html",
        scope=scope_for(current_user),
        wb=wb,
        matter_names=MATTERS,
        # The shell's 待办 badge is the same count as the workbench's: not counted a second time.
        inbox_count=wb.todo if current_user.can("inbox.use") else 0,
    )


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        database = {"ok": True, "dialect": db.engine.dialect.name}
    except Exception as exc:  # the health check reports, never raises
        db.session.rollback()
        database = {"ok": False, "error": type(exc).__name__}
    scheduler_state = current_app.extensions.get("ducha.scheduler_state")
    scheduler = scheduler_state() if scheduler_state else {"running": False, "heartbeat": None}
    status = 200 if database["ok"] else 503
    return jsonify(
        {"status": "ok" if database["ok"] else "degraded", "database": database, "scheduler": scheduler}
    ), status
