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
from datetime import date, timedelta

from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.orm import Session, attributes

from app.clues.models import Clue
from app.efficiency.indicators import DISPATCH_STEPS
from app.efficiency.models import EffViolation
from app.enterprises.models import Enterprise  # noqa: F401  (the summary's sources join it)
from app.extensions import db
from app.inbox.models import HumanTask
from app.models_base import utcnow
from app.plans.models import Inspection
from app.stats.models import StatsDaily, StatsDirty, StatsMonthly
from app.stats.sources import (  # noqa: F401  (SHANGHAI, SUBJECTS, _bounds, _Orgs, local_day are used from here)
    SHANGHAI,
    SOURCES_OF,
    SUBJECTS,
    _bounds,
    _Orgs,
    local_day,
)
from app.triggers.models import TriggerHit

TRACKED = {
    Clue: (("clue",), "registered_at"),
    TriggerHit: (("trigger",), "first_at"),
    Inspection: (("inspection", "soe"), "inspected_on"),
    HumanTask: (("dispatch",), "created_at"),
    EffViolation: (("efficiency",), "occurred_at"),
}


def _days_of(obj, attr: str) -> set[date]:
    hist = attributes.get_history(obj, attr)
    values = list(hist.added or ()) + list(hist.deleted or ()) + list(hist.unchanged or ())
    return {d for d in (local_day(v) for v in values) if d is not None}


def track(session: Session, flush_context, instances) -> None:
    """before_flush: note the (subject, day) of every tracked row added, changed or deleted."""
    marks: set[tuple[str, date]] = set()
    # session.new/.dirty/.deleted build a new set on each access: label them once, never compare with `is`
    for state, group in (("new", session.new), ("dirty", session.dirty), ("deleted", session.deleted)):
        for obj in group:
            spec = TRACKED.get(type(obj))
            if spec is None or (state == "dirty" and not session.is_modified(obj)):
                continue
            subjects, attr = spec
            if isinstance(obj, HumanTask) and (obj.process_id, obj.step) not in DISPATCH_STEPS:
                continue
            days = _days_of(obj, attr)
            if not days and state == "new":  # the column default (utcnow) fills it at insert
                days = {local_day(utcnow())}
            for day in days:
                marks.update((s, day) for s in subjects)
    for subject, day in marks:
        session.add(StatsDirty(subject=subject, day=day))


def install() -> None:
    if not event.contains(Session, "before_flush", track):
        event.listen(Session, "before_flush", track)


# ---------------------------------------------------------------- the rows of each subject


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


_ROLLED = ("month", "quarter", "year", "district_org_id", "industry", "grade", "source")


def _rollup(subject: str | None, months: set[int] | None) -> None:
    """Rebuild the monthly district roll-up from `stats_daily` (one subject's months, or everything)."""
    gone = delete(StatsMonthly)
    src = select(
        StatsDaily.subject,
        *(getattr(StatsDaily, c) for c in _ROLLED),
        func.sum(StatsDaily.n),
        func.sum(StatsDaily.closed),
        func.sum(StatsDaily.overdue),
        func.sum(StatsDaily.hours),
    ).group_by(StatsDaily.subject, *(getattr(StatsDaily, c) for c in _ROLLED))
    if subject is not None:
        gone = gone.where(StatsMonthly.subject == subject, StatsMonthly.month.in_(sorted(months or ())))
        src = src.where(StatsDaily.subject == subject, StatsDaily.month.in_(sorted(months or ())))
    db.session.execute(gone)
    cols = ["subject", *_ROLLED, "n", "closed", "overdue", "hours"]
    db.session.execute(insert(StatsMonthly).from_select(cols, src))


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
    _rollup(subject, {d.year * 100 + d.month for d in days})
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
    db.session.execute(delete(StatsMonthly))
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
    _rollup(None, None)
    db.session.flush()
    return written


def snapshot() -> list[tuple]:
    """Both tables' content without ids, sorted (what the property test compares)."""
    out = []
    for table in (StatsDaily.__table__, StatsMonthly.__table__):
        cols = [c for c in table.c if c.name != "id"]
        rows = db.session.execute(select(*cols)).all()
        out += [(table.name, *(round(v, 3) if isinstance(v, float) else v for v in r)) for r in rows]
    return sorted(out, key=repr)
