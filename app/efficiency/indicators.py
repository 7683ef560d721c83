"""The metrics an efficiency indicator can measure, computed per month from process and case data.

Each metric returns raw parts per organisation, {org_id: [numerator, denominator]}, so a unit's value is
the sum over its subtree (a district includes its streets) combined once: a count is the numerator, a
ratio is numerator / denominator x scale, an average is numerator / denominator. No data -> None.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select

from app.clues.models import Clue
from app.efficiency.models import EffViolation
from app.enterprises.models import Enterprise
from app.extensions import db
from app.inbox.models import HumanTask
from app.plans.models import Inspection
from app.triggers.models import TriggerHit

Parts = dict[int, list[float]]
# The first step of the dispatch processes: the one a dispatched unit must take up.
DISPATCH_STEPS = {("clue_verification", "handle"), ("trigger_dispatch", "handle")}


@dataclass(frozen=True)
class Metric:
    name: str
    dimension: str
    mode: str  # count / ratio / avg
    unit: str
    higher_better: bool
    fetch: Callable[[date, date, datetime, datetime], Parts]
    scale: float = 1.0


def _add(parts: Parts, org_id: int, num: float, den: float = 0.0) -> None:
    slot = parts.setdefault(org_id, [0.0, 0.0])
    slot[0] += num
    slot[1] += den


def _inspections(d0, d1, t0, t1) -> Parts:
    parts: Parts = {}
    rows = db.session.execute(
        select(Inspection.org_id, func.count())
        .where(Inspection.inspected_on >= d0, Inspection.inspected_on < d1)
        .group_by(Inspection.org_id)
    )
    for org_id, n in rows:
        _add(parts, org_id, n)
    return parts


def _enterprises() -> Parts:
    parts: Parts = {}
    for org_id, n in db.session.execute(select(Enterprise.org_id, func.count()).group_by(Enterprise.org_id)):
        _add(parts, org_id, 0, n)
    return parts


def _inspections_per_100(d0, d1, t0, t1) -> Parts:
    parts = _enterprises()
    for org_id, (num, _) in _inspections(d0, d1, t0, t1).items():
        _add(parts, org_id, num)
    return parts


def _coverage(d0, d1, t0, t1) -> Parts:
    parts = _enterprises()
    rows = db.session.execute(
        select(Enterprise.org_id, func.count(func.distinct(Inspection.enterprise_id)))
        .join(Enterprise, Enterprise.id == Inspection.enterprise_id)
        .where(Inspection.inspected_on >= d0, Inspection.inspected_on < d1)
        .group_by(Enterprise.org_id)
    )
    for org_id, n in rows:
        _add(parts, org_id, n)
    return parts


def _clues_closed(d0, d1, t0, t1) -> Parts:
    parts: Parts = {}
    owner = func.coalesce(Clue.handling_org_id, Clue.district_org_id)
    rows = db.session.execute(
        select(owner, func.count()).where(Clue.closed_at >= t0, Clue.closed_at < t1).group_by(owner)
    )
    for org_id, n in rows:
        _add(parts, org_id, n)
    return parts


def _done_tasks(t0, t1):
    return select(HumanTask).where(
        HumanTask.status == "completed", HumanTask.completed_at >= t0, HumanTask.completed_at < t1
    )


def _on_time(d0, d1, t0, t1) -> Parts:
    parts: Parts = {}
    rows = db.session.execute(
        select(HumanTask.org_id, HumanTask.due_at, HumanTask.completed_at).where(
            HumanTask.status == "completed", HumanTask.completed_at >= t0, HumanTask.completed_at < t1
        )
    )
    for org_id, due, done in rows:
        _add(parts, org_id, 1 if due is None or done <= due else 0, 1)
    return parts


def _violations_per_100(d0, d1, t0, t1) -> Parts:
    parts: Parts = {}
    rows = db.session.execute(
        select(HumanTask.org_id, func.count())
        .where(HumanTask.status == "completed", HumanTask.completed_at >= t0, HumanTask.completed_at < t1)
        .group_by(HumanTask.org_id)
    )
    for org_id, n in rows:
        _add(parts, org_id, 0, n)
    rows = db.session.execute(
        select(EffViolation.org_id, func.count())
        .where(
            EffViolation.occurred_at >= t0,
            EffViolation.occurred_at < t1,
            EffViolation.status != "revoked",
        )
        .group_by(EffViolation.org_id)
    )
    for org_id, n in rows:
        _add(parts, org_id, n)
    return parts


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


def _response_hours(d0, d1, t0, t1) -> Parts:
    parts: Parts = {}
    rows = db.session.execute(
        select(HumanTask.org_id, HumanTask.process_id, HumanTask.step, HumanTask.created_at, HumanTask.claimed_at)
        .add_columns(HumanTask.completed_at)
        .where(HumanTask.completed_at >= t0, HumanTask.completed_at < t1, HumanTask.status == "completed")
        .where(or_(*(((HumanTask.process_id == p) & (HumanTask.step == s)) for p, s in DISPATCH_STEPS)))
    )
    for org_id, _p, _s, created, claimed, done in rows:
        _add(parts, org_id, _hours(created, claimed or done), 1)
    return parts


def _closure_days(d0, d1, t0, t1) -> Parts:
    parts: Parts = {}
    rows = db.session.execute(
        select(TriggerHit.org_id, TriggerHit.first_at, TriggerHit.closed_at).where(
            TriggerHit.closed_at >= t0, TriggerHit.closed_at < t1
        )
    )
    for org_id, first, closed in rows:
        _add(parts, org_id, _hours(first, closed) / 24, 1)
    return parts


METRICS: dict[str, Metric] = {
    "inspections": Metric("检查企业次数", "quantity", "count", "次", True, _inspections),
    "inspections_per_100": Metric("每百家监管企业检查次数", "quantity", "ratio", "次", True, _inspections_per_100, 100),
    "coverage": Metric("监管企业检查覆盖率", "quantity", "ratio", "%", True, _coverage, 100),
    "clues_closed": Metric("办结线索数", "quantity", "count", "件", True, _clues_closed),
    "on_time_rate": Metric("任务按期办结率", "standard", "ratio", "%", True, _on_time, 100),
    "violations_per_100": Metric("每百件任务不规范行为数", "standard", "ratio", "条", False, _violations_per_100, 100),
    "response_hours": Metric("派单平均响应时长", "dispatch", "avg", "小时", False, _response_hours),
    "closure_days": Metric("触发式监管平均办结天数", "dispatch", "avg", "天", False, _closure_days),
}


def combine(metric: Metric, num: float, den: float) -> float | None:
    """A unit's value from its summed parts (None: no data to judge by)."""
    if metric.mode == "count":
        return float(num)
    if not den:
        return None
    return round(num / den * metric.scale, 2)


def roll_up(parts: Parts, units: dict[int, str], paths: dict[int, str]) -> dict[int, list[float]]:
    """Sum each organisation's parts into every unit whose path is a prefix of its own (its subtree)."""
    totals: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for org_id, (num, den) in parts.items():
        path = paths.get(org_id)
        if path is None:
            continue
        for unit_id, unit_path in units.items():
            if path.startswith(unit_path):
                totals[unit_id][0] += num
                totals[unit_id][1] += den
    return totals


def score_indicator(value: float | None, threshold: float, higher_better: bool) -> tuple[float | None, bool | None]:
    """(score 0-100, 达标?) of one value: 100 when it meets the threshold, else the proportion reached."""
    if value is None:
        return None, None
    if higher_better:
        if value >= threshold:
            return 100.0, True
        return (round(100 * value / threshold, 1) if threshold > 0 else 0.0), False
    if value <= threshold:
        return 100.0, True
    return round(100 * threshold / value, 1) if value > 0 else 0.0, False


def weighted_total(items: list[tuple[float | None, float]]) -> float:
    """Σ weight x score / Σ weight over the indicators that have data (0 when none has)."""
    known = [(s, w) for s, w in items if s is not None and w > 0]
    weight = sum(w for _, w in known)
    return round(sum(s * w for s, w in known) / weight, 1) if weight else 0.0
