"""The indicators the grade model scores, gathered from the data in a few grouped queries.

Every input is an integer, so the same inputs always give the same score (memoised per model)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select

from app.clues.models import Clue
from app.engine.runtime import SHANGHAI
from app.enterprises.models import Enterprise, EnterpriseRecord
from app.extensions import db
from app.triggers.models import TriggerHit

# input name -> (label, the records or data it comes from)
INDICATORS: dict[str, tuple[str, str]] = {
    "accidents_3y": ("近三年事故起数", "生产安全事故记录（近 3 年）"),
    "violations_1y": ("近一年违法行为数", "违法行为记录（近 1 年）"),
    "major_hazard": ("重大危险源等级", "最新的重大危险源辨识记录（0 为无）"),
    "standard_level": ("安全生产标准化等级", "最新的标准化达标记录（0 为未达标）"),
    "insured": ("安责险有效", "最新的安全生产责任险记录（有效期内为 1）"),
    "clues_substantiated": ("近两年属实线索数", "线索核查办结为属实/部分属实（近 2 年）"),
    "dispatch_problems": ("近一年触发处置发现问题数", "触发式监管办结结果（近 1 年）"),
    "complaints_90d": ("近90天投诉举报数", "投诉举报记录（近 90 天）"),
}
NAMES = tuple(INDICATORS)
DEFAULTS = {n: 0 for n in NAMES}
COUNTED = {
    "accident": ("accidents_3y", 3 * 365),
    "violation": ("violations_1y", 365),
    "complaint": ("complaints_90d", 90),
}
STATES = ("major_hazard", "standardisation", "insurance")


def _start_of(day: date):
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def gather(enterprise_ids: list[int] | None, today: date) -> dict[int, dict[str, int]]:
    """Indicator inputs of the given enterprises (all when None), as of `today` (Asia/Shanghai)."""

    def only(col, stmt):
        return stmt.where(col.in_(enterprise_ids)) if enterprise_ids is not None else stmt

    ids = db.session.scalars(only(Enterprise.id, select(Enterprise.id))) if enterprise_ids is None else enterprise_ids
    out: dict[int, dict[str, int]] = {i: dict(DEFAULTS) for i in ids}
    R = EnterpriseRecord
    windows = or_(*(and_(R.kind == k, R.occurred_on > today - timedelta(days=d)) for k, (_, d) in COUNTED.items()))
    stmt = only(R.enterprise_id, select(R.enterprise_id, R.kind, func.count()).where(windows, R.occurred_on <= today))
    for eid, kind, n in db.session.execute(stmt.group_by(R.enterprise_id, R.kind)):
        if eid in out:
            out[eid][COUNTED[kind][0]] = int(n)
    # State facts: the latest record of each kind wins; on the same date the larger value (as sorted JSON), so
    # the result never depends on the order the records arrived in (ids do).
    latest: dict[tuple[int, str], tuple] = {}
    stmt = only(R.enterprise_id, select(R.enterprise_id, R.kind, R.occurred_on, R.value))
    for eid, kind, on, value in db.session.execute(stmt.where(R.kind.in_(STATES), R.occurred_on <= today)):
        key = (eid, kind)
        rank = (on, json.dumps(value or {}, sort_keys=True, ensure_ascii=False))
        if key not in latest or rank > latest[key][:2]:
            latest[key] = (*rank, value or {})
    for (eid, kind), (_on, _rid, value) in latest.items():
        if eid not in out:
            continue
        if kind == "major_hazard":
            out[eid]["major_hazard"] = int(value.get("level") or 0)
        elif kind == "standardisation":
            out[eid]["standard_level"] = int(value.get("level") or 0)
        else:
            until = value.get("valid_until")
            out[eid]["insured"] = int(bool(until) and str(until) >= today.isoformat())
    since2y, since1y, end = (
        _start_of(today - timedelta(days=730)),
        _start_of(today - timedelta(days=365)),
        _start_of(today + timedelta(days=1)),
    )
    stmt = only(
        Clue.enterprise_id,
        select(Clue.enterprise_id, func.count()).where(
            Clue.outcome.in_(("substantiated", "partly")), Clue.closed_at >= since2y, Clue.closed_at < end
        ),
    )
    for eid, n in db.session.execute(stmt.group_by(Clue.enterprise_id)):
        if eid in out:
            out[eid]["clues_substantiated"] = int(n)
    stmt = only(
        TriggerHit.enterprise_id,
        select(TriggerHit.enterprise_id, func.count()).where(
            TriggerHit.outcome.in_(("problem", "rectifying")),
            TriggerHit.closed_at >= since1y,
            TriggerHit.closed_at < end,
        ),
    )
    for eid, n in db.session.execute(stmt.group_by(TriggerHit.enterprise_id)):
        if eid in out:
            out[eid]["dispatch_problems"] = int(n)
    return out
