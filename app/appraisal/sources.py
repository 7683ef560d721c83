"""Data sources of appraisal items: a small registry of ``fn(user_ids, start, end) -> {user_id: value}``.

    from app.appraisal.sources import register
    register("my_source", "我的指标", my_fn, unit="次", higher_better=False)

`start` and `end` are timezone-aware datetimes (end exclusive). A person with no data is left out of the
returned dict: the item then counts as missing, unless the source counts events (``counts=True``: no
event is 0, e.g. no overdue task). Built-in sources read what other modules
keep: 效能识别 (non-compliance records), overdue tasks in the inbox, 技能拉练 papers, returned clues; the
case-file review scores of app/cases are registered only when that module is installed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from app.extensions import db

REVIEWER = "reviewer"  # reviewer scores entered through the inbox: handled by the computation itself


@dataclass(frozen=True)
class Source:
    code: str
    label: str
    fn: Callable[[list[int], datetime, datetime], dict[int, float]]
    unit: str = ""
    higher_better: bool = True
    counts: bool = False  # a count of events: a person without any has 0, not "no data"


_SOURCES: dict[str, Source] = {}


def register(code: str, label: str, fn, *, unit: str = "", higher_better: bool = True, counts: bool = False) -> Source:
    src = Source(code, label, fn, unit, higher_better, counts)
    _SOURCES[code] = src
    return src


def all_sources() -> dict[str, Source]:
    _lazy()
    return dict(_SOURCES)


def get(code: str) -> Source | None:
    return all_sources().get(code)


def labels() -> dict[str, str]:
    return {REVIEWER: "评议打分（评议人录入）"} | {c: s.label for c, s in all_sources().items()}


def _lazy() -> None:
    """案卷评查 scores, when the case-review module exists (it is built separately)."""
    if "case_review" in _SOURCES:
        return
    try:
        from app.cases.services import review_scores  # type: ignore[import-not-found]
    except ImportError:
        return
    register("case_review", "案卷评查得分", review_scores, unit="分")


def _violations(user_ids: list[int], start: datetime, end: datetime) -> dict[int, float]:
    from app.efficiency.models import EffViolation

    rows = db.session.execute(
        select(EffViolation.user_id, func.count())
        .where(
            EffViolation.user_id.in_(user_ids),
            EffViolation.occurred_at >= start,
            EffViolation.occurred_at < end,
            EffViolation.status != "revoked",
        )
        .group_by(EffViolation.user_id)
    )
    return {uid: float(n) for uid, n in rows}


def _overdue(user_ids: list[int], start: datetime, end: datetime) -> dict[int, float]:
    """Tasks a person completed after their due time, or still holds past it, among those due in the period."""
    from app.inbox.models import HumanTask

    who = func.coalesce(HumanTask.completed_by_id, HumanTask.assignee_id)
    late = or_(
        and_(HumanTask.completed_at.is_not(None), HumanTask.completed_at > HumanTask.due_at),
        and_(HumanTask.status == "open", HumanTask.due_at < end),
    )
    rows = db.session.execute(
        select(who, func.count())
        .where(who.in_(user_ids), HumanTask.due_at >= start, HumanTask.due_at < end, late)
        .group_by(who)
    )
    return {uid: float(n) for uid, n in rows}


def _training(user_ids: list[int], start: datetime, end: datetime) -> dict[int, float]:
    from app.training.models import Paper

    rows = db.session.execute(
        select(Paper.user_id, func.avg(Paper.total_score))
        .where(
            Paper.user_id.in_(user_ids),
            Paper.submitted_at >= start,
            Paper.submitted_at < end,
            Paper.total_score.is_not(None),
        )
        .group_by(Paper.user_id)
    )
    return {uid: round(float(v), 1) for uid, v in rows if v is not None}


def _clue_returns(user_ids: list[int], start: datetime, end: datetime) -> dict[int, float]:
    """Clues a person registered in the period that were sent back (退回) at least once: complaints about
    the quality of their work, as far as the data shows it."""
    from app.clues.models import Clue

    rows = db.session.execute(
        select(Clue.registered_by_id, func.sum(Clue.returns_count))
        .where(Clue.registered_by_id.in_(user_ids), Clue.registered_at >= start, Clue.registered_at < end)
        .group_by(Clue.registered_by_id)
    )
    return {uid: float(n or 0) for uid, n in rows}


def _unit_efficiency(user_ids: list[int], start: datetime, end: datetime) -> dict[int, float]:
    """The 效能评估 result of a person's unit (district or street) averaged over the period's months: a
    leader item, so that 负责人考核 can also draw on the unit's own efficiency results."""
    from app.auth.models import User
    from app.efficiency.models import EffScore

    months, y, m = [], start.year, start.month
    while (y, m) < (end.year, end.month):
        months.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    orgs = dict(db.session.execute(select(User.id, User.org_id).where(User.id.in_(user_ids))).all())
    totals: dict[int, list[float]] = {}
    for org_id, total, adjusted in db.session.execute(
        select(EffScore.org_id, EffScore.total, EffScore.adjusted_total).where(
            EffScore.org_id.in_(set(orgs.values())), EffScore.period.in_(months)
        )
    ):
        totals.setdefault(org_id, []).append(adjusted if adjusted is not None else total)
    return {uid: round(sum(totals[oid]) / len(totals[oid]), 1) for uid, oid in orgs.items() if totals.get(oid)}


register("eff_violations", "效能识别不规范行为", _violations, unit="次", higher_better=False, counts=True)
register("overdue_tasks", "待办超期件数", _overdue, unit="件", higher_better=False, counts=True)
register("training", "技能拉练成绩", _training, unit="分")
register("unit_efficiency", "所在单位效能评估得分", _unit_efficiency, unit="分")
register("clue_returns", "登记线索被退回次数", _clue_returns, unit="次", higher_better=False, counts=True)
