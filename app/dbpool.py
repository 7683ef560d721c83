"""Connection-pool liveness check only where it can matter: on connections that sat idle.

SQLAlchemy's `pool_pre_ping` pings on every checkout, i.e. one extra round trip per request and per
transaction. A connection returned to the pool a moment ago is as alive as it was then, so here the
ping runs only when the connection was idle for more than DB_PING_IDLE_SECONDS (default 10 s: the
database was restarted, a firewall dropped the socket). A failed ping raises `DisconnectionError`,
and the pool replaces the connection transparently (the same mechanism as pre-ping). A connection
that fails later anyway is invalidated by SQLAlchemy's disconnect handling on first use.
"""

from __future__ import annotations

import time

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
