"""Summary tables (监督统计分析): refreshed incrementally from what each flush changed, they equal a
rebuild from scratch, whatever the order of additions, changes, deletions and refreshes (a property test)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from app.clues.models import Clue
from app.enterprises.models import Enterprise
from app.extensions import db
from app.plans.models import Inspection
from app.stats import summary
from app.stats.models import StatsDaily, StatsDirty, StatsMonthly
from app.triggers.models import TriggerHit
from tests.efficiency_fixtures import at, clue, hit, inspection, org
from tests.enterprise_fixtures import make_enterprise

DAY0 = date(2026, 3, 1)
op = st.one_of(
    st.tuples(
        st.just("add_clue"), st.integers(0, 3), st.integers(0, 1), st.booleans(), st.sampled_from(["hotline", "report"])
    ),
    st.tuples(st.just("close_clue"), st.integers(0, 20), st.integers(0, 12)),
    st.tuples(st.just("move_clue"), st.integers(0, 20), st.integers(0, 3)),
    st.tuples(st.just("delete_clue"), st.integers(0, 20)),
    st.tuples(st.just("add_inspection"), st.integers(0, 3), st.integers(0, 1)),
    st.tuples(st.just("delete_inspection"), st.integers(0, 20)),
    st.tuples(st.just("add_hit"), st.integers(0, 3), st.integers(0, 1)),
    st.tuples(st.just("close_hit"), st.integers(0, 20), st.integers(0, 12)),
    st.tuples(st.just("refresh")),
)


def _setup():
    for model in (StatsDaily, StatsDirty, StatsMonthly, Inspection, TriggerHit, Clue):
        db.session.execute(delete(model))
    ents = db.session.scalars(select(Enterprise).order_by(Enterprise.id)).all()
    if len(ents) < 2:  # the examples of one test share the database
        ents = [
            make_enterprise("310101", 1, "黄浦化工", grade="A", industry="HG"),
            make_enterprise("310104", 2, "徐汇冷链", grade="C", industry="WL", soe_code="SOE-JS"),
        ]
    db.session.flush()
    return ents


def _nth(model, i):
    rows = db.session.scalars(select(model).order_by(model.id)).all()
    return rows[i % len(rows)] if rows else None


def _apply(step, ents, districts):
    kind = step[0]
    if kind == "add_clue":
        _, d, which, closed, source = step
        when = at(3, 1 + d, 22)  # 22:00 in Shanghai is 14:00 UTC: the local day must be used
        clue(
            districts[which],
            registered=when,
            closed=when + timedelta(days=2) if closed else None,
            source=source,
            deadline=DAY0 + timedelta(days=d + 1),
            enterprise=ents[which],
        )
    elif kind == "close_clue" and (c := _nth(Clue, step[1])):
        c.closed_at = at(3, 1, 9) + timedelta(days=step[2])
    elif kind == "move_clue" and (c := _nth(Clue, step[1])):
        c.registered_at = at(3, 1 + step[2], 8)
    elif kind == "delete_clue" and (c := _nth(Clue, step[1])):
        db.session.delete(c)
    elif kind == "add_inspection":
        inspection(ents[step[2]], districts[step[2]], DAY0 + timedelta(days=step[1]))
    elif kind == "delete_inspection" and (i := _nth(Inspection, step[1])):
        db.session.delete(i)
    elif kind == "add_hit":
        hit(
            ents[step[2]], districts[step[2]], first=at(3, 1 + step[1], 23), deadline=DAY0 + timedelta(days=step[1] + 3)
        )
    elif kind == "close_hit" and (h := _nth(TriggerHit, step[1])):
        h.closed_at = at(3, 2, 10) + timedelta(days=step[2])
    elif kind == "refresh":
        summary.refresh()
    db.session.flush()  # the listener runs on flush; no commit needed (and no fsync per step)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(op, min_size=1, max_size=14))
def test_incremental_refresh_equals_a_rebuild(ctx, steps):
    ents = _setup()
    districts = [org("310101"), org("310104")]
    for step in steps:
        _apply(step, ents, districts)
    summary.refresh()
    incremental = summary.snapshot()
    summary.rebuild()
    assert incremental == summary.snapshot()
    db.session.rollback()


def test_what_a_summary_row_holds(ctx):
    ents = _setup()
    hp = org("310101")
    clue(hp, registered=at(3, 2, 22), closed=at(3, 4, 22), deadline=date(2026, 3, 3), enterprise=ents[0])
    clue(hp, registered=at(3, 2, 9), source="report", enterprise=ents[0])
    inspection(ents[1], org("310104"), date(2026, 3, 2))
    db.session.commit()
    assert summary.refresh() > 0
    rows = db.session.scalars(select(StatsDaily).where(StatsDaily.subject == "clue")).all()
    late = next(r for r in rows if r.source == "12350热线")
    assert (late.day, late.n, late.closed, late.overdue, late.hours) == (date(2026, 3, 2), 1, 1, 1, 48.0)
    assert (late.industry, late.grade, late.district_org_id, late.month, late.quarter) == (
        "HG",
        "A",
        hp.id,
        202603,
        20261,
    )
    soe = db.session.scalars(select(StatsDaily).where(StatsDaily.subject == "soe")).all()
    assert len(soe) == 1 and soe[0].n == 1 and soe[0].grade == "C"  # 徐汇冷链 belongs to an SOE group
    assert summary.refresh() == 0  # nothing changed since: nothing to do


def test_a_row_whose_day_comes_from_the_column_default_is_tracked(ctx):
    from app.models_base import utcnow

    _setup()
    db.session.add(Clue(source="hotline", content="未填登记时间", district_org_id=org("310101").id, status="handling"))
    db.session.flush()
    assert summary.refresh() == 1
    row = db.session.scalar(select(StatsDaily).where(StatsDaily.subject == "clue"))
    assert row.day == summary.local_day(utcnow()) and row.n == 1
