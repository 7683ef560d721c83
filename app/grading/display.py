"""等级展示: grade distribution by district and industry, month-over-month, recent changes (all scoped)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from app.enterprises import access
from app.enterprises.models import Enterprise
from app.extensions import db
from app.grading.models import GradeSnapshot, ScoreHistory
from app.security.scope import scope_for

GRADES = ("A", "B", "C", "D")


def _table(rows) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for key, grade, n in rows:
        out.setdefault(key or "", {g: 0 for g in GRADES})
        if grade in GRADES:
            out[key or ""][grade] += int(n)
    return out


def overview(user, today: date) -> dict:
    vis = access.visible_clause(user)
    base = select(Enterprise.grade, func.count()).where(vis).group_by(Enterprise.grade)
    totals = {g: 0 for g in GRADES}
    for grade, n in db.session.execute(base):
        if grade in totals:
            totals[grade] = int(n)
    by_district = _table(
        db.session.execute(
            select(Enterprise.district_code, Enterprise.grade, func.count())
            .where(vis)
            .group_by(Enterprise.district_code, Enterprise.grade)
        )
    )
    by_industry = _table(
        db.session.execute(
            select(Enterprise.industry_code, Enterprise.grade, func.count())
            .where(vis)
            .group_by(Enterprise.industry_code, Enterprise.grade)
        )
    )
    prev_month = date(today.year, today.month, 1) - timedelta(days=1)
    key = prev_month.strftime("%Y-%m")
    scope = scope_for(user)
    prev = {g: 0 for g in GRADES}
    stmt = scope.filter_org(
        select(GradeSnapshot.grade, func.sum(GradeSnapshot.count))
        .where(GradeSnapshot.month == key)
        .group_by(GradeSnapshot.grade),
        GradeSnapshot.org_id,
    )
    have_prev = False
    for grade, n in db.session.execute(stmt):
        have_prev = True
        if grade in prev:
            prev[grade] = int(n or 0)
    changes = db.session.execute(
        select(ScoreHistory, Enterprise.name)
        .join(Enterprise, Enterprise.id == ScoreHistory.enterprise_id)
        .where(vis, ScoreHistory.previous_grade.is_not(None), ScoreHistory.previous_grade != ScoreHistory.grade)
        .order_by(ScoreHistory.computed_at.desc(), ScoreHistory.id.desc())
        .limit(20)
    ).all()
    return {
        "totals": totals,
        "total": sum(totals.values()),
        "by_district": by_district,
        "by_industry": by_industry,
        "prev_month": key,
        "prev": prev if have_prev else None,
        "changes": changes,
    }
