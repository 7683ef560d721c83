"""Clue statistics by source, district, month and outcome, over the clues the user may see."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.clues.models import OUTCOMES, SOURCES, STATUS, Clue
from app.clues.services import visible_clause
from app.engine.runtime import SHANGHAI
from app.extensions import db
from app.models_base import utcnow
from app.orgs.models import Organisation


def _grouped(user, column, labels: dict | None = None) -> list[dict]:
    stmt = select(column, func.count(Clue.id)).where(visible_clause(user)).group_by(column).order_by(column)
    out = []
    for key, count in db.session.execute(stmt):
        out.append({"key": key, "name": (labels or {}).get(key, key) if key is not None else "未定", "value": count})
    return out


def _by_district(user) -> list[dict]:
    stmt = (
        select(Organisation.code, Organisation.short_name, Organisation.name, func.count(Clue.id))
        .join(Organisation, Organisation.id == Clue.district_org_id)
        .where(visible_clause(user))
        .group_by(Organisation.code, Organisation.short_name, Organisation.name)
        .order_by(Organisation.code)
    )
    return [{"key": code, "name": short or name, "value": n} for code, short, name, n in db.session.execute(stmt)]


def _by_month(user, now: datetime, months: int = 12) -> list[dict]:
    local = now.astimezone(SHANGHAI)
    keys = []
    year, month = local.year, local.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keys.reverse()
    since = now - timedelta(days=31 * months)
    counts = dict.fromkeys(keys, 0)
    stmt = select(Clue.registered_at).where(visible_clause(user), Clue.registered_at >= since)
    for (at,) in db.session.execute(stmt):
        key = at.astimezone(SHANGHAI).strftime("%Y-%m")
        if key in counts:
            counts[key] += 1
    return [{"key": k, "name": k, "value": v} for k, v in counts.items()]


def statistics(user, now: datetime | None = None) -> dict:
    now = now or utcnow()
    by_outcome = _grouped(user, Clue.outcome, {**OUTCOMES, None: "办理中"})
    for row in by_outcome:
        if row["key"] is None:
            row["name"] = "办理中"
    return {
        "by_source": _grouped(user, Clue.source, SOURCES),
        "by_district": _by_district(user),
        "by_month": _by_month(user, now),
        "by_outcome": by_outcome,
        "by_status": _grouped(user, Clue.status, STATUS),
        "total": sum(r["value"] for r in _grouped(user, Clue.status, STATUS)),
    }
