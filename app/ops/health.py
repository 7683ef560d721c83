"""Readiness: GET /readyz answers 200 only when this node can do its work.

/healthz (app/portal/routes.py) says whether the process is alive and sees its database (a liveness
probe); /readyz adds what a load balancer or an orchestrator should wait for before sending traffic:
- the database answers;
- the schema is at the migrations' head (a node started with new code before `flask db upgrade` ran,
  or an old node after it, is not ready);
- a scheduler process beat within READY_HEARTBEAT_SECONDS (60 s): no scheduler means no timers.
Each check reports ok/false and a reason; the status is 200 or 503. No login needed and nothing
confidential is shown (revision ids and ages only).
"""

from __future__ import annotations

import functools

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app.config import PROJECT_ROOT
from app.extensions import db
from app.models_base import utcnow

bp = Blueprint("ops_health", __name__)


@functools.cache
def migration_heads(directory: str) -> frozenset[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(cfg).get_heads())


def check_database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:  # a probe reports, never raises
        db.session.rollback()
        return {"ok": False, "reason": type(exc).__name__}


def check_migrations() -> dict:
    heads = migration_heads(str(PROJECT_ROOT / "migrations"))
    try:
        current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")).all())
    except Exception:
        db.session.rollback()
        return {"ok": False, "reason": "no alembic_version table", "head": sorted(heads)}
    ok = current == set(heads)
    result = {"ok": ok, "current": sorted(current), "head": sorted(heads)}
    if not ok:
        result["reason"] = "schema is not at the migrations' head (run flask db upgrade)"
    return result


def check_scheduler() -> dict:
    from app.engine.timers import scheduler_state

    limit = float(current_app.config.get("READY_HEARTBEAT_SECONDS", 60))
    try:
        state = scheduler_state()
    except Exception as exc:
        db.session.rollback()
        return {"ok": False, "reason": type(exc).__name__}
    if not state.get("heartbeat"):
        return {"ok": False, "reason": "no scheduler has ever beaten"}
    from datetime import datetime

    age = (utcnow() - datetime.fromisoformat(state["heartbeat"])).total_seconds()
    result = {"ok": age <= limit, "age_seconds": round(age, 1), "node": state.get("node")}
    if age > limit:
        result["reason"] = f"the last scheduler heartbeat is older than {limit:g} s"
    return result


@bp.get("/readyz")
def readyz():
    checks = {"database": check_database()}
    if checks["database"]["ok"]:
        checks["migrations"] = check_migrations()
        checks["scheduler"] = check_scheduler()
    db.session.rollback()
    ready = all(c["ok"] for c in checks.values())
    return jsonify({"status": "ready" if ready else "not_ready", "checks": checks}), 200 if ready else 503
