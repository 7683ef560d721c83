"""Property: grade recomputation is deterministic and independent of the order events arrive in.

Records are applied one by one in two different orders, each followed by the incremental recompute an
event triggers; the final scores must equal each other and a full recompute from scratch."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from app.engine.runtime import SHANGHAI
from app.enterprises.models import EnterpriseRecord
from app.extensions import db
from app.grading import events, services
from app.grading.models import EnterpriseScore, ScoreHistory
from tests.enterprise_fixtures import make_enterprise

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=SHANGHAI)
KINDS = {
    "accident": lambda n: {"deaths": n % 2, "injuries": n},
    "violation": lambda n: {"item": f"违法 {n}"},
    "complaint": lambda n: {},
    "major_hazard": lambda n: {"level": n % 5},
    "standardisation": lambda n: {"level": n % 4},
    "insurance": lambda n: {"valid_until": (NOW.date() + timedelta(days=200 * (n % 3) - 150)).isoformat()},
}
event = st.tuples(st.integers(0, 1), st.sampled_from(sorted(KINDS)), st.integers(0, 1300), st.integers(0, 7))


def _apply(ids, evs, order):
    db.session.execute(delete(ScoreHistory))
    db.session.execute(delete(EnterpriseScore))
    db.session.execute(delete(EnterpriseRecord))
    services.recompute(reason="初始")  # every enterprise starts scored; then each event recomputes its one
    for i in order:
        ent, kind, days, n = evs[i]
        on = NOW.date() - timedelta(days=days)
        db.session.add(
            EnterpriseRecord(
                enterprise_id=ids[ent],
                kind=kind,
                occurred_on=on,
                title=f"{kind} {n}",
                value=KINDS[kind](n),
                source="测试",
            )
        )
        db.session.flush()
        events.enterprise_changed(ids[ent], f"记录 {i}")
    return _scores(ids)


def _scores(ids):
    return {
        s.enterprise_id: (s.total, s.grade, s.entries, s.inputs)
        for s in db.session.scalars(select(EnterpriseScore).where(EnterpriseScore.enterprise_id.in_(ids)))
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(evs=st.lists(event, min_size=1, max_size=12), data=st.data())
def test_recompute_is_deterministic_and_order_independent(app, evs, data):
    order = data.draw(st.permutations(range(len(evs))))
    with time_machine.travel(NOW, tick=False), app.app_context():
        # Created inside the example and rolled back at its end, like everything else it writes.
        ids = [make_enterprise("310101", 1, "甲企业").id, make_enterprise("310101", 2, "乙企业").id]
        forward = _apply(ids, evs, range(len(evs)))
        shuffled = _apply(ids, evs, order)
        db.session.execute(delete(ScoreHistory))
        db.session.execute(delete(EnterpriseScore))
        services.recompute(reason="全量")
        full = _scores(ids)
        twice = services.recompute(reason="再算")
        db.session.rollback()
    assert forward == shuffled == full
    assert twice["changed"] == 0
