"""The request hot path: one statement to authenticate, the audit chain sealed at commit, the checkpoint
file written at most every few seconds (and by the scheduler), pings only on idle connections, and
pages of short lists without a count query."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, text

from app.audit import checkpoint
from app.audit import services as audit
from app.audit.models import AuditEntry, AuditHead
from app.extensions import db
from app.portal.paging import paginate
from tests.conftest import TEST_PASSWORD, user


class Statements:
    """The statements the app's engine executes inside the block (SQLAlchemy's view: no BEGIN)."""

    def __init__(self, engine=None):
        self.engine = engine if engine is not None else db.engine
        self.sql: list[str] = []

    def _on(self, conn, cursor, statement, *args):
        self.sql.append(" ".join(statement.split()))

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._on)


def test_authentication_is_one_statement(app, login_as):
    c = login_as("hp_officer")
    c.get("/api/v1/tasks?tab=todo")  # warm caches
    with app.app_context():
        engine = db.engine
    with Statements(engine) as seen:
        resp = c.get("/api/v1/tasks?tab=todo")
    assert resp.status_code == 200
    auth = [s for s in seen.sql if "user_sessions" in s]
    assert len(auth) == 1 and "roles" in auth[0] and "users" in auth[0]
    assert not any(s.startswith("SELECT") and "FROM roles" in s and "user_sessions" not in s for s in seen.sql)
    # The roles came from that one statement: permissions work (the list needs inbox.use).
    assert resp.get_json()["total"] == 0
    # ...and an empty, short list costs one statement: no count query.
    assert len(seen.sql) == 2, seen.sql


def test_the_polled_inbox_badge_is_the_session_lookup_and_one_count(app, login_as):
    c = login_as("hp_officer")
    c.get("/inbox/badge")  # warm caches
    with app.app_context():
        engine = db.engine
    with Statements(engine) as seen:
        resp = c.get("/inbox/badge")
    assert resp.status_code == 200
    assert len(seen.sql) == 2, seen.sql
    assert "user_sessions" in seen.sql[0] and "count" in seen.sql[1] and "human_tasks" in seen.sql[1]
    # A full page still shows the counts in its shell (computed when the template uses them).
    with Statements(engine) as seen:
        page = c.get("/inbox/").get_data(as_text=True)
    assert "待办" in page and sum("count(notifications.id)" in s for s in seen.sql) == 1


def test_a_task_submit_reads_its_rows_once(app, client_for):
    """The task, its activation group and the instance's open rows come in one statement; the act's
    writes follow (event, task, instance, next task, audit chain), with no second transaction."""
    from tests.api_helpers import deploy_flow
    from tests.test_api import submit

    with app.app_context():
        deploy_flow()
        engine = db.engine
    officer = client_for("hp_officer")
    started = officer.post("/api/v1/processes/api_flow/instances", json={"data": {"subject": "语句数"}}).get_json()
    [task] = started["tasks"]
    with Statements(engine) as seen:
        submit(officer, task["id"], amount=5, note="ok")
    reads = [s for s in seen.sql if s.startswith("SELECT") and "FROM human_tasks" in s]
    assert len(reads) == 1, reads
    selects = [s[:90] for s in seen.sql if s.startswith("SELECT")]
    # the session, the rows, and who is told of the next task (a role in an organisation)
    assert len(selects) == 3 and selects[2].startswith("SELECT users.id FROM users"), selects
    if engine.dialect.name == "postgresql":
        # + instance, task, next task, its notice, and one statement for the audit entry with the history
        # event (the head was the one this process saw last: no lock-and-read first)
        assert len(seen.sql) == 8, "\n".join(s[:70] for s in seen.sql)
        seal = seen.sql[-1]
        assert seal.startswith("WITH moved AS (UPDATE audit_head") and "INSERT INTO instance_events" in seal
        assert not any(s.startswith("INSERT INTO instance_events") for s in seen.sql)


def test_a_start_from_the_start_page_reads_the_process_once(app, client_for):
    """The page's process row is the one the start uses (not read again), and the task the answer
    redirects to is the one the start created (not queried)."""
    from tests.api_helpers import deploy_flow

    with app.app_context():
        deploy_flow()
        engine = db.engine
    officer = client_for("hp_officer")
    officer.post("/inbox/start/api_flow", data={"subject": "预热"})  # warm the process's caches
    with Statements(engine) as seen:
        resp = officer.post("/inbox/start/api_flow", data={"subject": "语句数"})
    assert resp.status_code == 302 and "/inbox/tasks/" in resp.headers["Location"]
    with app.app_context():
        from app.inbox.models import HumanTask

        task = db.session.get(HumanTask, int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1]))
        assert (task.step, task.assignee_id, task.instance.title) == ("fill", user("hp_officer").id, "语句数")
    assert sum("FROM process_models" in s for s in seen.sql) == 1
    assert not any(s.startswith("SELECT human_tasks.id") for s in seen.sql), seen.sql
    if engine.dialect.name == "postgresql":
        # session, process, version, its numbering (lock the process row, read the last number), instance
        # insert, its state, first task, audit entry with the history event
        assert len(seen.sql) == 9, "\n".join(s[:70] for s in seen.sql)


def test_audit_entries_are_chained_at_commit_in_record_order(ctx):
    actor = user("hp_officer")
    audit.record("test.first", actor=actor)  # the first append also creates the head row
    db.session.commit()
    entries = [audit.record("test.event", actor=actor, object_id=i, detail={"n": i}) for i in range(3)]
    assert db.session.scalar(select(db.func.count()).select_from(AuditEntry)) == 1  # nothing before the commit
    with Statements() as seen:
        db.session.commit()
    first, *rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [r.object_id for r in rows] == ["0", "1", "2"]
    assert first.prev_mac == audit.GENESIS and rows[0].prev_mac == first.mac
    assert rows[1].prev_mac == rows[0].mac and rows[2].prev_mac == rows[1].mac
    head = db.session.get(AuditHead, 1)
    assert (head.last_id, head.last_mac) == (rows[-1].id, rows[-1].mac) == (entries[-1].id, entries[-1].mac)
    audit_sql = [s for s in seen.sql if "audit_" in s]
    # PostgreSQL: lock-and-read the head, then insert the entries and move the head in one statement.
    assert len(audit_sql) == (2 if db.engine.dialect.name == "postgresql" else 1 + 3 + 1), audit_sql
    assert audit.verify().ok


def test_an_append_after_another_process_moved_the_head_locks_and_reads_it(ctx):
    """One statement appends an entry when the head is still the one this process saw last; when another
    process appended since, that statement writes nothing of the chain and the append locks and reads
    the head as before: the chain never forks, and ids follow the chain's order."""
    actor = user("hp_officer")
    audit.record("test.first", actor=actor)
    db.session.commit()
    where = db.engine.url.render_as_string(hide_password=True)
    audit._known_head[where] = "f" * 64  # as if another process had appended since this one last did
    audit.record("test.second", actor=actor)
    with Statements() as stale:
        db.session.commit()
    audit.record("test.third", actor=actor)
    with Statements() as known:
        db.session.commit()
    first, second, third = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()[-3:]
    assert [e.action for e in (first, second, third)] == ["test.first", "test.second", "test.third"]
    assert (second.prev_mac, third.prev_mac) == (first.mac, second.mac)
    head = db.session.get(AuditHead, 1)
    assert (head.last_id, head.last_mac) == (third.id, third.mac)
    if db.engine.dialect.name == "postgresql":
        stale_sql = [s[:40] for s in stale.sql if "audit_" in s]
        # the guarded append (no row), the lock-and-read, the insert with the head move
        assert len(stale_sql) == 3 and stale_sql[0].startswith("WITH moved AS"), stale_sql
        assert [s[:40] for s in known.sql if "audit_" in s] == [stale_sql[0]]
    assert audit.verify(reset_checkpoint=True).ok


def test_history_events_wait_for_the_commit_and_the_transaction_still_sees_them(ctx):
    from app.engine import runtime
    from app.engine.models import InstanceEvent, ProcessInstance
    from app.inbox import actions, services
    from tests.conftest import deploy_test_process

    deploy_test_process("approval_demo")
    instance = actions.start("approval_demo", actor=user("hp_officer"))
    db.session.commit()
    kinds = [e.kind for e in services.history(instance)]
    runtime.add_event(instance, "comment", comment="一")
    with Statements() as seen:
        shown = [e.kind for e in services.history(instance)]  # a query of the history writes the queue first
    assert shown == [*kinds, "comment"]
    assert seen.sql[0].startswith("INSERT INTO instance_events")
    runtime.add_event(instance, "comment", comment="一又")
    joined = (
        select(db.func.count())
        .select_from(ProcessInstance)
        .join(InstanceEvent, InstanceEvent.instance_id == ProcessInstance.id)
        .where(ProcessInstance.id == instance.id)
    )
    assert db.session.scalar(joined) == len(kinds) + 2  # a join names the table too
    runtime.add_event(instance, "comment", comment="二")
    db.session.rollback()  # the queued event goes with the rest of the work
    runtime.add_event(instance, "comment", comment="三")
    with db.session.begin_nested():  # inside a savepoint: written at once, taken back with the savepoint
        runtime.add_event(instance, "comment", comment="四")
        assert db.session.new or db.session.scalar(select(InstanceEvent).where(InstanceEvent.comment == "四"))
    db.session.commit()
    comments = db.session.scalars(
        select(InstanceEvent.comment).where(InstanceEvent.instance_id == instance.id, InstanceEvent.kind == "comment")
    ).all()
    assert sorted(comments) == ["三", "四"]
    with db.session.begin_nested() as savepoint:
        runtime.add_event(instance, "comment", comment="五")
        savepoint.rollback()
    db.session.commit()
    assert db.session.scalar(select(InstanceEvent).where(InstanceEvent.comment == "五")) is None


def test_a_request_that_queued_history_and_did_not_commit_writes_nothing(app):
    """A request ends with COMMIT only when its transaction wrote nothing and queued nothing: an event or an
    audit entry waiting for a commit that never came is rolled back with the request (app/dbpool.py)."""
    from app.engine import runtime
    from app.engine.models import InstanceEvent
    from app.inbox import actions
    from tests.conftest import deploy_test_process

    with app.app_context():
        deploy_test_process("approval_demo")
        instance_id = actions.start("approval_demo", actor=user("hp_officer")).id
        db.session.commit()
    with app.app_context():  # as a request: read, queue, end without commit
        instance = db.session.get(runtime.ProcessInstance, instance_id)
        runtime.add_event(instance, "comment", comment="未提交")
        audit.record("test.uncommitted", actor=user("hp_officer"))
    with app.app_context():
        assert db.session.scalar(select(InstanceEvent).where(InstanceEvent.comment == "未提交")) is None
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "test.uncommitted")) is None


def test_rolled_back_entries_never_reach_the_chain(ctx):
    audit.record("test.kept", actor=user("hp_officer"))
    db.session.commit()
    audit.record("test.dropped", actor=user("hp_officer"))
    db.session.rollback()
    audit.record("test.after", actor=user("hp_officer"))
    db.session.commit()
    assert db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all() == ["test.kept", "test.after"]
    assert audit.verify().ok


def test_checkpoint_is_written_at_most_every_interval_and_caught_up_by_the_scheduler(app, ctx, monkeypatch):
    from app.engine.cli import run_round

    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_INTERVAL", 3600)
    path = checkpoint.checkpoint_path()
    key = app.config["AUDIT_KEY"]
    import time

    for held in (str(path), path):  # as if this process wrote the file a moment ago, whatever ran before
        monkeypatch.setitem(checkpoint._written_at, held, time.monotonic())
    audit.record("test.first", actor=user("hp_officer"))
    db.session.commit()  # written moments ago: no write now
    first = db.session.get(AuditHead, 1)
    mark = checkpoint.read(path, key)
    assert mark is None or mark.last_id < first.last_id
    for i in range(3):
        audit.record("test.burst", actor=user("hp_officer"), detail={"i": i})
        db.session.commit()
    assert checkpoint.read(path, key) == mark  # a burst of commits: still no file write
    run_round(app)  # every scheduler round copies audit_head into the file
    head = db.session.get(AuditHead, 1)
    written = checkpoint.read(path, key)  # its sequence number is the checkpoint log's (security)
    assert (written.last_id, written.last_mac) == (head.last_id, head.last_mac)
    assert audit.verify().ok


def test_short_pages_need_no_count_and_long_ones_are_counted(ctx):
    from app.audit.models import AuditEntry as E

    for i in range(25):
        audit.record("test.page", detail={"i": i})
    db.session.commit()
    stmt = select(E).where(E.action == "test.page").order_by(E.id)
    with Statements() as seen:
        short = paginate(stmt, 1, per_page=30)
    assert (short.total, len(short.items), len(seen.sql)) == (25, 25, 1)
    with Statements() as seen:
        full = paginate(stmt, 1, per_page=10)
        last = paginate(stmt, 3, per_page=10)
        past = paginate(stmt, 9, per_page=10)
    assert (full.total, full.pages, len(full.items)) == (25, 3, 10)
    assert (last.total, [e.detail["i"] for e in last.items]) == (25, list(range(20, 25)))
    assert (past.total, past.items) == (25, [])
    assert len(seen.sql) == 2 + 1 + 2  # full page: page + count; last page: page only; past the end: both


def test_idle_connection_is_pinged_and_replaced_when_dead(app, monkeypatch):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite has no server connection to lose: runs in the PostgreSQL pass of .ci/run")
    from app import create_app

    base = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "INSTANCE_DIR")}
    other = create_app({**base, "DB_PING_IDLE_SECONDS": 0})
    with other.app_context():
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.remove()  # back to the pool
        with app.app_context():  # from the test app's own engine
            db.session.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            db.session.commit()
        # The pooled connection is dead; the checkout ping notices and the pool reconnects.
        assert db.session.scalar(text("SELECT pg_backend_pid()")) != pid
        db.session.remove()
        db.engine.dispose()
    fresh = create_app({k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "INSTANCE_DIR")})
    with fresh.app_context():
        dialect = db.engine.dialect
        pings: list[int] = []
        real = dialect.do_ping
        monkeypatch.setattr(dialect, "do_ping", lambda conn: pings.append(1) or real(conn))
        first = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.remove()
        # A connection returned a moment ago is not pinged (the default waits for 10 s of idleness).
        assert db.session.scalar(text("SELECT pg_backend_pid()")) == first
        assert pings == []
        db.session.remove()
        db.engine.dispose()


def test_a_login_is_six_statements_and_reads_the_user_once(app):
    """User with roles (one statement), second factor row, then the writes: last login, the single-session
    end and the new session, the audit chain. Nothing is read again after the commit."""
    with app.app_context():
        engine = db.engine
    c = app.test_client()
    app.test_client().post("/login", data={"login": "xh_officer", "password": TEST_PASSWORD})  # the audit chain exists
    with Statements(engine) as seen:
        resp = c.post("/login", data={"login": "hp_officer", "password": TEST_PASSWORD})
    assert resp.status_code == 302 and resp.location.endswith("/")
    reads = [s for s in seen.sql if s.startswith("SELECT")]
    assert sum("FROM users" in s for s in reads) == 1 and "roles" in reads[0], reads
    assert not any(s.startswith("SELECT") and "FROM user_roles" in s for s in seen.sql)
    own = [s for s in seen.sql if "audit_" not in s]
    assert len(own) == 5, "\n".join(s[:150] for s in seen.sql)
    if engine.dialect.name == "postgresql":
        # The audit chain is one statement: this process made the last append (the login above), so its guess of
        # the head holds (audit._append_if_head_is).
        assert len(seen.sql) == 6, "\n".join(s[:150] for s in seen.sql)
    # The session it started works, and the home page behind it answers.
    assert c.get("/").status_code == 200


def _home(c, engine) -> tuple[str, list[str]]:
    with Statements(engine) as seen:
        resp = c.get("/")
    assert resp.status_code == 200
    return resp.get_data(as_text=True), seen.sql


def test_the_home_page_is_eight_statements_then_five_and_never_reads_a_workflow_document(app, login_as):
    from app.alerts.services import raise_alert
    from app.inbox.models import HumanTask
    from tests.test_workbench import _setup, _text

    _setup(app)  # three open tasks for the Huangpu leader: one overdue, one due within a day, one later
    with app.app_context():
        engine = db.engine
        raise_alert("test", org=user("hp_leader").org, title="首页预警一", notify_owner=False)
        db.session.commit()
    c = login_as("hp_leader")
    page, first = _home(c, engine)
    assert len(first) == 8, first  # a leader who may start processes: every part
    assert not any("process_instances.state" in s for s in first), "the home page loads workflow documents"
    # 待办 count, overdue, soon-due and the next three in one statement; the shell's badge is not counted again.
    assert sum("FROM human_tasks" in s and "GROUP BY" not in s for s in first) == 1, first
    assert ">3</span> 件" in page and "超期 1" in page and "即将到期 1" in page
    assert page.count("大队审核") >= 3 and "仓库检查" in page
    assert "范围内未处理 1 条" in page and "首页预警一" in page
    # Within WORKBENCH_CACHE_SECONDS the alerts and the unit totals come from the cache; my 待办 does not.
    with app.app_context():
        raise_alert("test2", org=user("hp_leader").org, title="首页预警二", notify_owner=False)
        open_rows = select(HumanTask.id).where(HumanTask.status == "open").order_by(HumanTask.id)
        first_task = db.session.scalar(open_rows.limit(1))  # the overdue one (tests/test_workbench.py)
        db.session.execute(HumanTask.__table__.update().where(HumanTask.id == first_task).values(status="done"))
        db.session.commit()
    page, again = _home(c, engine)
    assert len(again) == 5, again
    assert not any("FROM alerts" in s for s in again) and not any("GROUP BY organisations" in s for s in again)
    assert "首页预警二" not in page
    assert ">2</span> 件" in page and "超期 0" in page, _text(page, "wb-todo") + _text(page, "wb-overdue")
    # With the cache off every part is fresh.
    app.config["WORKBENCH_CACHE_SECONDS"] = 0
    try:
        page, fresh = _home(c, engine)
    finally:
        app.config["WORKBENCH_CACHE_SECONDS"] = 20
    assert "范围内未处理 2 条" in page and "首页预警二" in page and len(fresh) == 8


def test_queued_rows_of_several_shapes_are_sealed_with_the_entry_in_order(ctx):
    """The chain's statement is built once per shape (rows per table) with bound parameters: several history
    events in one commit keep their order and values, rows of one table with different columns are still
    written, and a second commit of the same shape reuses the statement."""
    from app import deferred
    from app.engine import runtime
    from app.engine.models import InstanceEvent
    from app.inbox import actions
    from tests.conftest import deploy_test_process

    deploy_test_process("approval_demo")
    instance = actions.start("approval_demo", actor=user("hp_officer"))
    db.session.commit()
    for n in range(2):  # the second round finds its statement built
        for i in range(3):
            runtime.add_event(instance, "comment", comment=f"批{n}-{i}", data={"i": i, "名": "值"})
        audit.record("test.shapes", actor=user("hp_officer"), detail={"n": n})
        with Statements() as seen:
            db.session.commit()
        if db.engine.dialect.name == "postgresql":
            chain = [s for s in seen.sql if "audit_" in s]
            assert len(chain) in (1, 3) and "UNION ALL" in chain[-1] and "INSERT INTO instance_events" in chain[-1]
            assert not any(s.startswith("INSERT INTO instance_events") for s in seen.sql)
    rows = db.session.execute(
        select(InstanceEvent.comment, InstanceEvent.data)
        .where(InstanceEvent.instance_id == instance.id, InstanceEvent.kind == "comment")
        .order_by(InstanceEvent.id)
    ).all()
    assert [r.comment for r in rows] == [f"批{n}-{i}" for n in range(2) for i in range(3)]
    assert [r.data for r in rows][:3] == [{"i": i, "名": "值"} for i in range(3)]
    # rows of one table with differing columns: written with their values inline, nothing lost
    table = InstanceEvent.__table__
    base = {"instance_id": instance.id, "at": audit.utcnow(), "kind": "comment", "data": {}}
    deferred.defer(db.session(), table, {**base, "comment": "甲"})
    deferred.defer(db.session(), table, {**base, "comment": "乙", "step_name": "步骤"})
    audit.record("test.mixed", actor=user("hp_officer"))
    db.session.commit()
    got = db.session.execute(
        select(InstanceEvent.comment, InstanceEvent.step_name).where(InstanceEvent.comment.in_(["甲", "乙"]))
    ).all()
    assert sorted(got) == [("乙", "步骤"), ("甲", None)]
    assert audit.verify(reset_checkpoint=True).ok


def test_a_client_that_never_opens_a_page_keeps_only_the_newest_messages(app, login_as):
    """Starts from the start page flash a message each; a script that never renders a page must not grow
    its signed cookie session (and its decoding on every request) without end."""
    from flask.sessions import SecureCookieSessionInterface

    from app import FLASHES_KEPT
    from tests.api_helpers import deploy_flow

    with app.app_context():
        deploy_flow()
    c = login_as("hp_officer")
    for i in range(FLASHES_KEPT + 3):
        assert c.post("/inbox/start/api_flow", data={"subject": f"第{i}件"}).status_code == 302
    cookie = c.get_cookie(app.config["SESSION_COOKIE_NAME"])
    flashes = SecureCookieSessionInterface().get_signing_serializer(app).loads(cookie.value)["_flashes"]
    assert len(flashes) == FLASHES_KEPT
    with app.app_context():
        from app.engine.models import ProcessInstance

        newest = db.session.scalars(
            select(ProcessInstance.number).where(ProcessInstance.process_id == "api_flow").order_by(ProcessInstance.id)
        ).all()[-FLASHES_KEPT:]
    assert [text.rsplit("（", 1)[1].rstrip("）") for _kind, text in flashes] == newest


def test_the_kept_todo_statement_follows_the_users_roles(app, login_as):
    """The 待办 statement is kept per user, roles, scope and filters: a role taken away changes the key, so
    the tasks offered to that role leave the list at the next request."""
    from app.auth.models import Role
    from app.inbox import queries
    from app.inbox.queries import Filters

    with app.app_context():
        officer = user("hp_officer")
        first = queries.todo(officer, Filters())
        assert queries.todo(officer, Filters()) is first  # kept
        assert queries.todo(officer, Filters(process="x")) is not first
        assert queries.todo(officer, Filters(status="overdue")) is not queries.todo(officer, Filters(status="overdue"))
        role = officer.roles[0]
        officer.roles = [r for r in officer.roles if r.id != role.id]
        db.session.flush()
        assert queries.todo(officer, Filters()) is not first
        officer.roles = [*officer.roles, db.session.get(Role, role.id)]
        db.session.rollback()
