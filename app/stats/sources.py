"""Where each subject's summary rows come from: the source tables read for a range of local days.

Each source yields (day, org_id, industry, grade, source, n, closed, overdue, hours) for days d0..d1.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from app.clues.models import SOURCES, Clue
from app.efficiency.indicators import DISPATCH_STEPS
from app.efficiency.models import EffViolation
from app.engine.models import ProcessModel
from app.enterprises.models import Enterprise
from app.extensions import db
from app.inbox.models import HumanTask
from app.orgs.models import Organisation
from app.plans.models import Inspection
from app.triggers.models import TriggerHit, TriggerScenario

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUBJECTS = {
    "trigger": "触发式监管",
    "soe": "国企集团检查",
    "clue": "线索核查",
    "efficiency": "效能识别",
    "dispatch": "指挥调度",
    "inspection": "全部检查",
}
INSPECTION_KINDS = {"plan": "计划检查", "clue": "线索检查", "other": "其他检查"}
VIOLATION_CATEGORIES = {"enforcement": "执法不规范", "case": "办案不规范", "dispatch": "指挥调度不规范"}
# model -> (subjects, the attribute that decides the day)


def local_day(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(SHANGHAI).date()
    return value


def _bounds(d0: date, d1: date) -> tuple[datetime, datetime]:
    """Local days [d0, d1] as UTC datetimes [start, end)."""
    start = datetime.combine(d0, time(), SHANGHAI).astimezone(UTC)
    end = datetime.combine(d1 + timedelta(days=1), time(), SHANGHAI).astimezone(UTC)
    return start, end


# ---------------------------------------------------------------- tracking


class _Orgs:
    """Organisation id -> district brigade id, and enterprise attributes, cached for one refresh."""

    def __init__(self):
        rows = list(db.session.execute(select(Organisation.id, Organisation.kind, Organisation.parent_id)))
        kind = {r.id: r.kind for r in rows}
        parent = {r.id: r.parent_id for r in rows}
        self.district: dict[int, int | None] = {}
        for oid in kind:
            cur, seen = oid, 0
            while cur is not None and kind.get(cur) != "district" and seen < 10:
                cur, seen = parent.get(cur), seen + 1
            self.district[oid] = cur if cur is not None and kind.get(cur) == "district" else None
        self.scenarios = dict(db.session.execute(select(TriggerScenario.id, TriggerScenario.name)).all())
        self.processes = dict(db.session.execute(select(ProcessModel.process_id, ProcessModel.name)).all())
        self._ents: dict[int, tuple] = {}

    def load_all(self) -> None:
        """Every enterprise's attributes in one query (a rebuild touches most of them)."""
        rows = db.session.execute(
            select(Enterprise.id, Enterprise.industry_code, Enterprise.grade, Enterprise.soe_group_id)
        )
        self._ents = {eid: (ind or "", grade or "", soe) for eid, ind, grade, soe in rows}
        self.complete = True

    def enterprise(self, ent_id: int | None) -> tuple[str, str, int | None]:
        if ent_id is None:
            return "", "", None
        if ent_id not in self._ents:
            row = db.session.execute(
                select(Enterprise.industry_code, Enterprise.grade, Enterprise.soe_group_id).where(
                    Enterprise.id == ent_id
                )
            ).first()
            self._ents[ent_id] = (row[0] or "", row[1] or "", row[2]) if row else ("", "", None)
        return self._ents[ent_id]

    def preload(self, ids) -> None:
        if getattr(self, "complete", False):
            return
        missing = [i for i in set(ids) if i is not None and i not in self._ents]
        for k in range(0, len(missing), 900):
            chunk = missing[k : k + 900]
            for eid, ind, grade, soe in db.session.execute(
                select(Enterprise.id, Enterprise.industry_code, Enterprise.grade, Enterprise.soe_group_id).where(
                    Enterprise.id.in_(chunk)
                )
            ):
                self._ents[eid] = (ind or "", grade or "", soe)


def _hours(a: datetime | None, b: datetime | None) -> float:
    return (b - a).total_seconds() / 3600 if a and b else 0.0


def _stream(orgs: _Orgs, stmt):
    """The rows of `stmt`: streamed when every enterprise is loaded (a rebuild), else fetched and preloaded."""
    if getattr(orgs, "complete", False):
        return db.session.execute(stmt.execution_options(yield_per=5000))
    rows = list(db.session.execute(stmt))
    orgs.preload(r.enterprise_id for r in rows)
    return rows


def _clues(orgs: _Orgs, d0: date, d1: date) -> Iterator[tuple]:
    t0, t1 = _bounds(d0, d1)
    rows = _stream(
        orgs,
        select(
            Clue.registered_at,
            Clue.handling_org_id,
            Clue.district_org_id,
            Clue.enterprise_id,
            Clue.source,
            Clue.closed_at,
            Clue.deadline,
        ).where(Clue.registered_at >= t0, Clue.registered_at < t1),
    )
    for r in rows:
        ind, grade, _ = orgs.enterprise(r.enterprise_id)
        closed = r.closed_at is not None
        late = closed and r.deadline is not None and local_day(r.closed_at) > r.deadline
        yield (
            local_day(r.registered_at),
            r.handling_org_id or r.district_org_id,
            ind,
            grade,
            SOURCES.get(r.source, r.source),
            1,
            closed,
            late,
            _hours(r.registered_at, r.closed_at) if closed else 0.0,
        )


def _triggers(orgs: _Orgs, d0: date, d1: date) -> Iterator[tuple]:
    t0, t1 = _bounds(d0, d1)
    rows = _stream(
        orgs,
        select(
            TriggerHit.first_at,
            TriggerHit.org_id,
            TriggerHit.enterprise_id,
            TriggerHit.scenario_id,
            TriggerHit.closed_at,
            TriggerHit.deadline,
        ).where(TriggerHit.first_at >= t0, TriggerHit.first_at < t1),
    )
    for r in rows:
        ind, grade, _ = orgs.enterprise(r.enterprise_id)
        closed = r.closed_at is not None
        late = closed and r.deadline is not None and local_day(r.closed_at) > r.deadline
        yield (
            local_day(r.first_at),
            r.org_id,
            ind,
            grade,
            orgs.scenarios.get(r.scenario_id, ""),
            1,
            closed,
            late,
            _hours(r.first_at, r.closed_at) if closed else 0.0,
        )


def _inspections(orgs: _Orgs, d0: date, d1: date, *, soe: bool) -> Iterator[tuple]:
    """Grouped in SQL: a date column needs no time-zone arithmetic, and there are 200,000 a year."""
    kind = Inspection.kind
    stmt = (
        select(
            Inspection.inspected_on, Inspection.org_id, Enterprise.industry_code, Enterprise.grade, kind, func.count()
        )
        .join(Enterprise, Enterprise.id == Inspection.enterprise_id)
        .where(Inspection.inspected_on >= d0, Inspection.inspected_on <= d1)
        .group_by(Inspection.inspected_on, Inspection.org_id, Enterprise.industry_code, Enterprise.grade, kind)
    )
    if soe:
        stmt = stmt.where(Enterprise.soe_group_id.is_not(None))
    for day, org_id, ind, grade, k, n in db.session.execute(stmt):
        yield (day, org_id, ind or "", grade or "", INSPECTION_KINDS.get(k, k), n, n, 0, 0.0)


def _dispatch(orgs: _Orgs, d0: date, d1: date) -> Iterator[tuple]:
    t0, t1 = _bounds(d0, d1)
    cond = or_(*(((HumanTask.process_id == p) & (HumanTask.step == s)) for p, s in DISPATCH_STEPS))
    rows = db.session.execute(
        select(
            HumanTask.created_at,
            HumanTask.org_id,
            HumanTask.process_id,
            HumanTask.status,
            HumanTask.completed_at,
            HumanTask.due_at,
        ).where(HumanTask.created_at >= t0, HumanTask.created_at < t1, cond)
    )
    for r in rows:
        closed = r.status == "completed"
        late = closed and r.due_at is not None and r.completed_at is not None and r.completed_at > r.due_at
        yield (
            local_day(r.created_at),
            r.org_id,
            "",
            "",
            orgs.processes.get(r.process_id, r.process_id),
            1,
            closed,
            late,
            _hours(r.created_at, r.completed_at) if closed else 0.0,
        )


def _violations(orgs: _Orgs, d0: date, d1: date) -> Iterator[tuple]:
    t0, t1 = _bounds(d0, d1)
    rows = db.session.execute(
        select(EffViolation.occurred_at, EffViolation.org_id, EffViolation.category, EffViolation.status).where(
            EffViolation.occurred_at >= t0, EffViolation.occurred_at < t1
        )
    )
    for r in rows:
        yield (
            local_day(r.occurred_at),
            r.org_id,
            "",
            "",
            VIOLATION_CATEGORIES.get(r.category, r.category),
            1,
            r.status in ("upheld", "revoked"),
            False,
            0.0,
        )


SOURCES_OF = {
    "clue": _clues,
    "trigger": _triggers,
    "inspection": lambda o, a, b: _inspections(o, a, b, soe=False),
    "soe": lambda o, a, b: _inspections(o, a, b, soe=True),
    "dispatch": _dispatch,
    "efficiency": _violations,
}
