"""Summary tables of 监督统计分析, kept current incrementally.

Every flush that adds, changes or deletes a row a subject counts (clues, trigger hits, inspections,
dispatch tasks, non-compliance records) notes the (subject, day) it belongs to, before and after the
change, in `stats_dirty` (`track` is a `before_flush` listener). `refresh()` rebuilds only those days'
rows of `stats_daily`; `rebuild()` does every day from scratch. The two give the same table (a property
test says so). Bulk inserts that bypass the ORM (bench/generate.py) call `rebuild()` afterwards.
Enterprise attributes (industry, grade) are read when a day is refreshed; the nightly rebuild catches a
grade that changed later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, event, func, insert, or_, select
from sqlalchemy.orm import Session, attributes

from app.clues.models import SOURCES, Clue
from app.efficiency.indicators import DISPATCH_STEPS
from app.efficiency.models import EffViolation
from app.engine.models import ProcessModel
from app.enterprises.models import Enterprise
from app.extensions import db
from app.inbox.models import HumanTask
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.plans.models import Inspection
from app.stats.models import StatsDaily, StatsDirty
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
TRACKED = {
    Clue: (("clue",), "registered_at"),
    TriggerHit: (("trigger",), "first_at"),
    Inspection: (("inspection", "soe"), "inspected_on"),
    HumanTask: (("dispatch",), "created_at"),
    EffViolation: (("efficiency",), "occurred_at"),
}


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


def _days_of(obj, attr: str) -> set[date]:
    hist = attributes.get_history(obj, attr)
    values = list(hist.added or ()) + list(hist.deleted or ()) + list(hist.unchanged or ())
    return {d for d in (local_day(v) for v in values) if d is not None}


def track(session: Session, flush_context, instances) -> None:
    """before_flush: note the (subject, day) of every tracked row added, changed or deleted."""
    marks: set[tuple[str, date]] = set()
    for group in (session.new, session.dirty, session.deleted):
        for obj in group:
            spec = TRACKED.get(type(obj))
            if spec is None or (group is session.dirty and not session.is_modified(obj)):
                continue
            subjects, attr = spec
            if isinstance(obj, HumanTask) and (obj.process_id, obj.step) not in DISPATCH_STEPS:
                continue
            days = _days_of(obj, attr)
            if not days and group is session.new:  # the column default (utcnow) fills it at insert
                days = {local_day(utcnow())}
            for day in days:
                marks.update((s, day) for s in subjects)
    for subject, day in marks:
        session.add(StatsDirty(subject=subject, day=day))


def install() -> None:
    if not event.contains(Session, "before_flush", track):
        event.listen(Session, "before_flush", track)


# ---------------------------------------------------------------- the rows of each subject


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


# Each yields (day, org_id, industry, grade, source, n, closed, overdue, hours) for days d0..d1.
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


def _aggregate(subject: str, items, days: set[date] | None, orgs: _Orgs) -> list[dict]:
    acc: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, 0.0])
    for day, org_id, ind, grade, source, n, closed, late, hours in items:
        if days is not None and day not in days:
            continue
        slot = acc[(day, org_id, ind or "", grade or "", (source or "")[:40])]
        slot[0] += n
        slot[1] += int(closed)
        slot[2] += int(late)
        slot[3] += hours
    rows = []
    for (day, org_id, ind, grade, source), (n, closed, late, hours) in acc.items():
        iso = day.isocalendar()
        rows.append(
            {
                "subject": subject,
                "day": day,
                "week": iso.year * 100 + iso.week,
                "month": day.year * 100 + day.month,
                "quarter": day.year * 10 + (day.month - 1) // 3 + 1,
                "year": day.year,
                "org_id": org_id,
                "district_org_id": orgs.district.get(org_id),
                "industry": ind,
                "grade": grade,
                "source": source,
                "n": n,
                "closed": closed,
                "overdue": late,
                "hours": round(hours, 3),
            }
        )
    return rows


def _redo(subject: str, days: set[date], orgs: _Orgs) -> int:
    """Replace the summary rows of `subject` on `days` (chunks of contiguous ranges)."""
    ordered = sorted(days)
    written = 0
    for k in range(0, len(ordered), 400):
        part = ordered[k : k + 400]
        db.session.execute(delete(StatsDaily).where(StatsDaily.subject == subject, StatsDaily.day.in_(part)))
        rows = _aggregate(subject, SOURCES_OF[subject](orgs, part[0], part[-1]), set(part), orgs)
        if rows:
            db.session.execute(insert(StatsDaily), rows)
        written += len(rows)
    return written


def refresh() -> int:
    """Recompute the days noted dirty since the last refresh; returns how many days were redone."""
    top = db.session.scalar(select(func.max(StatsDirty.id)))
    if top is None:
        return 0
    marks = db.session.execute(select(StatsDirty.subject, StatsDirty.day).where(StatsDirty.id <= top).distinct()).all()
    by_subject: dict[str, set[date]] = defaultdict(set)
    for subject, day in marks:
        by_subject[subject].add(day)
    orgs = _Orgs()
    for subject, days in by_subject.items():
        if subject in SOURCES_OF:
            _redo(subject, days, orgs)
    db.session.execute(delete(StatsDirty).where(StatsDirty.id <= top))
    db.session.flush()
    return len(marks)


def rebuild(progress=None) -> int:
    """Every subject and day from scratch (after bulk loads; nightly). Returns the rows written."""
    db.session.execute(delete(StatsDaily))
    db.session.execute(delete(StatsDirty))
    orgs = _Orgs()
    orgs.load_all()
    written = 0
    bounds = {
        "clue": (func.min(Clue.registered_at), func.max(Clue.registered_at)),
        "trigger": (func.min(TriggerHit.first_at), func.max(TriggerHit.first_at)),
        "inspection": (func.min(Inspection.inspected_on), func.max(Inspection.inspected_on)),
        "soe": (func.min(Inspection.inspected_on), func.max(Inspection.inspected_on)),
        "dispatch": (func.min(HumanTask.created_at), func.max(HumanTask.created_at)),
        "efficiency": (func.min(EffViolation.occurred_at), func.max(EffViolation.occurred_at)),
    }
    for i, (subject, (lo, hi)) in enumerate(bounds.items()):
        first, last = db.session.execute(select(lo, hi)).one()
        if first is None:
            continue
        d0, d1 = local_day(first), local_day(last)
        start = d0
        while start <= d1:  # half a year at a time keeps memory bounded on the 3-year data set
            end = min(d1, start + timedelta(days=182))
            rows = _aggregate(subject, SOURCES_OF[subject](orgs, start, end), None, orgs)
            if rows:
                db.session.execute(insert(StatsDaily), rows)
            written += len(rows)
            start = end + timedelta(days=1)
        if progress:
            progress(int(100 * (i + 1) / len(bounds)), f"已汇总：{SUBJECTS[subject]}")
    db.session.flush()
    return written


def snapshot() -> list[tuple]:
    """The table's content without ids, sorted (what the property test compares)."""
    cols = [c for c in StatsDaily.__table__.c if c.name != "id"]
    rows = db.session.execute(select(*cols)).all()
    return sorted((tuple(round(v, 3) if isinstance(v, float) else v for v in r) for r in rows), key=repr)
