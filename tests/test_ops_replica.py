"""Heavy reads on a REAL streaming replica (app/ops/replica.py), started by the test on loopback.

Proofs, with WAL replay paused on the replica so that it holds an older state than the primary:
(a) the statistics read is served by the replica (it shows the older figure, inside the user's data scope);
(b) writes go to the primary, and a read after a write in the same transaction reads the primary;
(c) the replica stopped: the page still answers (from the primary), the fallback is logged and counted;
(d) the replica behind the lag limit: the primary answers.
The tests of this module run in order on one pair (module fixture); they run on either DATABASE_URL.
"""

from __future__ import annotations

import logging
import re
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from tests import bpmn_builder
from tests.conftest import TEST_PASSWORD, seed_base, test_config
from tests.pg_pair import PgPair, missing_reason


@pytest.fixture(scope="module")
def pair():
    reason = missing_reason()
    if reason:
        print(reason)
        pytest.skip(reason)
    pg = PgPair()
    try:
        yield pg.start()
    finally:
        pg.stop()


@pytest.fixture(scope="module")
def rapp(pair):
    tmp = Path(tempfile.mkdtemp(prefix="ducha-replica-"))
    app = create_app(
        {
            **test_config(tmp, pair.url("primary")),
            "DATABASE_REPLICA_URL": pair.url("replica"),
            "REPLICA_MAX_LAG_SECONDS": 3600,
            "REPLICA_RETRY_SECONDS": 0,
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        logging.getLogger("app.ops.replica").disabled = False  # alembic's fileConfig disabled existing loggers
        seed_base()
        bpmn_builder.deploy_xml("st", bpmn_builder.linear("st", [("node", "审批", {"assignee": "users:hp_leader"})]))
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        app.extensions["ducha_replica"].engine.dispose()


@pytest.fixture(scope="module")
def clients(rapp):
    made = {}

    def get(login):
        if login not in made:
            c = rapp.test_client()
            assert c.post("/login", data={"login": login, "password": TEST_PASSWORD}).status_code == 302
            made[login] = c
        return made[login]

    return get


def _start(client) -> None:
    assert client.post("/inbox/start/st").status_code == 302


def _started_this_month(client) -> int:
    resp = client.get("/stats/trend.json?months=1")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["started"][-1]


def _month() -> str:
    from app.stats.services import SHANGHAI

    return datetime.now(SHANGHAI).strftime("%Y-%m")


def _metric(client, name: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    found = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def _count_on(pair, which: str) -> int:
    with pair.connect(which) as conn:
        return conn.execute("SELECT count(*) FROM process_instances").fetchone()[0]


def test_stats_read_is_served_by_the_replica_inside_the_scope(pair, rapp, clients):
    for login in ("hp_officer", "hp_officer", "xh_officer"):
        _start(clients(login))
    pair.wait_replayed()
    with pair.connect("replica") as r:
        r.execute("SELECT pg_wal_replay_pause()")
    _start(clients("hp_officer"))  # on the primary only while replay is paused
    assert _count_on(pair, "primary") == 4 and _count_on(pair, "replica") == 3
    reads = _metric(clients("leader"), "ducha_replica_reads_total")
    # The replica's older state, and the data scope on it: 黄浦 sees its 2 of the 3, the city all 3.
    assert _started_this_month(clients("hp_leader")) == 2
    assert _started_this_month(clients("leader")) == 3
    assert _metric(clients("leader"), "ducha_replica_reads_total") == reads + 2
    # The monthly figures on the stats page come from the replica too (3, not 4).
    page = clients("leader").get(f"/stats/?month={_month()}").get_data(as_text=True)
    assert "测试流程" in page


def test_writes_and_reads_after_them_go_to_the_primary(pair, rapp):
    from app.auth.models import User
    from app.engine.models import ProcessInstance
    from app.ops.replica import replica_reads
    from app.stats.models import SavedView

    with rapp.app_context():
        leader = db.session.scalar(select(User).where(User.login == "leader"))
        db.session.commit()
        with replica_reads() as on_replica:
            assert on_replica
            assert db.session.scalar(select(func.count(ProcessInstance.id))) == 3  # the replica (paused)
            db.session.add(SavedView(user_id=leader.id, name="副本测试", params={"subject": "clue"}))
            db.session.flush()  # a write inside the scope: the primary (the replica is read-only)
            # After a write the transaction reads its own writes: the primary, which has all 4.
            assert db.session.scalar(select(func.count(ProcessInstance.id))) == 4
            assert db.session.scalar(select(func.count(SavedView.id))) == 1
            db.session.commit()
            # A new transaction in the scope reads the replica again.
            assert db.session.scalar(select(func.count(ProcessInstance.id))) == 3
            db.session.commit()
            # A locking read is the primary's (the replica could not lock, and it is behind).
            assert len(db.session.scalars(select(ProcessInstance.id).with_for_update()).all()) == 4
            db.session.commit()
    with pair.connect("primary") as p:
        assert p.execute("SELECT count(*) FROM stats_views WHERE name = '副本测试'").fetchone()[0] == 1


def test_replica_beyond_the_lag_limit_reads_the_primary(pair, rapp, clients):
    replica = rapp.extensions["ducha_replica"]
    before = _metric(clients("leader"), 'ducha_replica_fallback_total{reason="lag"}')
    replica.max_lag = 0.0  # paused replay with WAL waiting: any age of the last replayed commit is too much
    try:
        assert _started_this_month(clients("leader")) == 4  # the primary's figure
        assert _started_this_month(clients("hp_leader")) == 3
    finally:
        replica.max_lag = 3600
    assert _metric(clients("leader"), 'ducha_replica_fallback_total{reason="lag"}') == before + 2
    with pair.connect("replica") as r:
        r.execute("SELECT pg_wal_replay_resume()")
    pair.wait_replayed()
    assert _started_this_month(clients("leader")) == 4  # caught up: the replica again, with every row


def test_replica_down_falls_back_to_the_primary_without_an_error(pair, rapp, clients, caplog):
    before = _metric(clients("leader"), 'ducha_replica_fallback_total{reason="down"}')
    pair.stop_replica()
    _start(clients("xh_officer"))
    with caplog.at_level(logging.WARNING, logger="app.ops.replica"):
        assert _started_this_month(clients("leader")) == 5  # the user sees the page, from the primary
        resp = clients("leader").get(f"/stats/?month={_month()}")
    assert resp.status_code == 200 and "测试流程" in resp.get_data(as_text=True)
    assert any("replica unavailable" in r.getMessage() for r in caplog.records)
    assert _metric(clients("leader"), 'ducha_replica_fallback_total{reason="down"}') == before + 2
    pair.start_replica()
    pair.wait_replayed()
    assert _started_this_month(clients("leader")) == 5
    assert _metric(clients("leader"), 'ducha_replica_fallback_total{reason="down"}') == before + 2  # back on it
