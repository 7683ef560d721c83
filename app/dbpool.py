"""Connection-pool liveness check only where it can matter: on connections that sat idle.

SQLAlchemy's `pool_pre_ping` pings on every checkout, i.e. one extra round trip per request and per
transaction. A connection returned to the pool a moment ago is as alive as it was then, so here the
ping runs only when the connection was idle for more than DB_PING_IDLE_SECONDS (default 10 s: the
database was restarted, a firewall dropped the socket). A failed ping raises `DisconnectionError`,
and the pool replaces the connection transparently (the same mechanism as pre-ping). A connection
that fails later anyway is invalidated by SQLAlchemy's disconnect handling on first use.
"""

from __future__ import annotations

import re
import time

from flask import current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

_CHECKIN = "ducha.checked_in_at"


def install_idle_ping(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection at checkout only when it was idle longer than `idle_seconds`."""
    if engine.dialect.name == "sqlite" or event.contains(engine, "checkout", _on_checkout):
        return
    engine.pool._ducha_idle_ping = float(idle_seconds)  # type: ignore[attr-defined]
    event.listen(engine, "checkin", _on_checkin)
    event.listen(engine, "checkout", _on_checkout)


def _on_checkin(dbapi_connection, record) -> None:
    if record is not None:
        record.info[_CHECKIN] = time.monotonic()


def _on_checkout(dbapi_connection, record, proxy) -> None:
    since = record.info.get(_CHECKIN)
    idle = getattr(proxy._pool, "_ducha_idle_ping", 10.0)
    if since is None or time.monotonic() - since < idle:
        return  # new (just connected) or busy: no round trip
    try:
        proxy._pool._dialect.do_ping(dbapi_connection)
    except Exception as exc:  # any failure: let the pool reconnect
        raise DisconnectionError("idle connection failed its ping") from exc


# ---------------------------------------------------------------------------------------------
# Read-only requests end with COMMIT, not ROLLBACK (PostgreSQL)
#
# psycopg forgets every server-side prepared statement of a connection when it sees a ROLLBACK
# (an object the statements used may have been dropped in the rolled-back transaction) and sends
# DEALLOCATE ALL. A GET request reads and ends its transaction with the session's ROLLBACK, so on a
# pool shared by pages and acts no statement ever reached psycopg's prepare threshold: PostgreSQL parsed
# and planned every statement of every request again. A transaction that wrote nothing is ended with
# COMMIT instead (the same effect on the database), and the connection keeps its prepared statements.

_WROTE = "ducha.wrote"


def install_read_only_commit(app, db) -> None:
    """Track writes per connection; at the end of a request, COMMIT a transaction that wrote nothing."""
    engine = db.engine
    if engine.dialect.name != "postgresql" or event.contains(engine, "before_cursor_execute", _note_write):
        return
    event.listen(engine, "before_cursor_execute", _note_write)
    event.listen(engine, "commit", _clear_write)
    event.listen(engine, "rollback", _clear_write)

    @app.teardown_appcontext  # registered after Flask-SQLAlchemy's, so it runs before its session.remove()
    def _end_read_only(exc):
        if exc is not None or not db.session.registry.has():
            return
        session = db.session()
        if not session.in_transaction() or session.new or session.dirty or session.deleted:
            return
        if _queued_for_commit(session):
            return  # history or audit entries wait for a commit that did not come: rolled back, as before
        if session.connection().info.get(_WROTE):
            return  # wrote and did not commit: the session's ROLLBACK discards it, as before
        # The session is removed right after: keep what it loaded as it was (a rollback inside close() did
        # not expire anything either; objects read in the request may still be used after it).
        expire, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        except Exception:  # the session was read-only: roll back instead
            session.rollback()
        finally:
            session.expire_on_commit = expire


def _queued_for_commit(session) -> bool:
    from app import deferred
    from app.audit.services import PENDING_KEY

    return deferred.pending(session) or bool(session.info.get(PENDING_KEY))


def _note_write(conn, cursor, statement, parameters, context, executemany) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        conn.info[_WROTE] = True


def _clear_write(conn) -> None:
    conn.info.pop(_WROTE, None)


# ---------------------------------------------------------------------------------------------
# Opted-in GET requests read without BEGIN/COMMIT (PostgreSQL), and open a transaction at the first write
#
# The ready list and the polled badge are a session lookup and one or two SELECTs; their BEGIN and COMMIT
# were half of their statements. A view decorated `@autocommit_reads`, called with GET or HEAD, runs its
# reads with the psycopg connection in autocommit mode (each SELECT is its own snapshot: what READ
# COMMITTED gives a transaction's statements anyway). The first statement that is not a plain read (any
# INSERT/UPDATE/DELETE, WITH, SAVEPOINT, a locking SELECT, a SELECT of a function with side effects or
# locks) switches the connection back before it runs: psycopg sends BEGIN with that statement, and it and
# everything after it are one transaction, committed or rolled back as before (a view that audits or marks
# something keeps its atomicity). The connection leaves autocommit mode when it goes back to the pool.
# SQLite needs nothing: its driver never sends BEGIN before a SELECT.

_AUTOCOMMIT = "ducha.autocommit_reads"
_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE (psycopg is imported only with PostgreSQL)
_NOT_PLAIN = re.compile(
    r"\bFOR\s+(?:UPDATE|SHARE|NO\s+KEY|KEY\s+SHARE)\b|advisory|nextval|setval|set_config|notify\(|txid|xact",
    re.IGNORECASE,
)


def autocommit_reads(view):
    """Mark a view: on GET/HEAD its reads run without a transaction (PostgreSQL; see above)."""
    view._ducha_autocommit_reads = True
    return view


def _plain_read(statement: str) -> bool:
    text = statement.lstrip()
    return text[:6].upper() == "SELECT" and _NOT_PLAIN.search(text) is None


def install_autocommit_reads(app, db) -> None:
    """Opted-in GET views read in autocommit mode; the first write opens a transaction (PostgreSQL)."""
    engine = db.engine
    if engine.dialect.name != "postgresql" or event.contains(engine, "before_cursor_execute", _begin_before_write):
        return
    event.listen(engine, "before_cursor_execute", _begin_before_write)
    event.listen(engine, "checkin", _leave_autocommit)

    session_class = db.session.session_factory.class_
    if not event.contains(session_class, "after_begin", _after_begin):
        event.listen(session_class, "after_begin", _after_begin)


def _after_begin(session, transaction, connection) -> None:
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, "_ducha_autocommit_reads", False):
        return
    if not event.contains(connection.engine, "before_cursor_execute", _begin_before_write):
        return  # another engine (the replica, SQLite): left as it is
    dbapi = connection.connection.dbapi_connection
    if dbapi is None or dbapi.autocommit or dbapi.info.transaction_status != _IDLE:
        return  # already in a transaction (or another's autocommit connection): nothing to change
    dbapi.autocommit = True
    connection.info[_AUTOCOMMIT] = True


def _begin_before_write(conn, cursor, statement, parameters, context, executemany) -> None:
    if not conn.info.get(_AUTOCOMMIT) or _plain_read(statement):
        return
    conn.info.pop(_AUTOCOMMIT, None)
    conn.connection.dbapi_connection.autocommit = False  # psycopg sends BEGIN with this statement


def _leave_autocommit(dbapi_connection, record) -> None:
    if record is not None and record.info.pop(_AUTOCOMMIT, None) and dbapi_connection is not None:
        dbapi_connection.autocommit = False
