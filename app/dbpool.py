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
