"""Heavy read-only work on the streaming replica (DATABASE_REPLICA_URL; empty: everything on the primary).

The mechanism is explicit: code that only reads (statistics pages, dashboards, report and export reads)
runs inside ``with replica_reads():`` or a view decorated ``@replica_view``. Inside that scope the session
(``RoutingSession``, the session class of ``db``) sends a plain SELECT to the replica engine; anything
else goes to the primary as always:
- INSERT/UPDATE/DELETE, a flush, ``SELECT ... FOR UPDATE``, anything that is not a SELECT;
- every read after the session wrote in the current transaction (it must read its own writes);
- everything outside the scope (logins, sessions, forms, acts, the audit chain).

Entering the scope asks the replica once (one round trip) whether it is usable:
- it does not answer (stopped, network) → the primary, a warning in the log, and
  ``ducha_replica_fallback_total{reason="down"}``; the replica is not asked again for
  DUCHA_REPLICA_RETRY_SECONDS (default 10), so an outage costs one refused connection, not one per page;
- it replays WAL more than DUCHA_REPLICA_MAX_LAG_SECONDS behind (default 30; the age of the last replayed
  transaction, ``pg_last_xact_replay_timestamp()``, counted only while WAL received is not yet replayed, so
  an idle primary does not look like lag) → the primary, ``reason="lag"``.
``ducha_replica_reads_total`` counts the scopes served by the replica. The data scope is part of each query
(app/security/scope.py), so it applies on the replica the same. A replica that stops in the middle of a
scope fails that one request (as the primary would); the next one falls back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from functools import wraps

from flask import current_app
from prometheus_client import Counter
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from app.dbpool import install_idle_ping
from app.dbroute import ACTIVE_REPLICA
from app.ops.metrics import REQUEST_REGISTRY

log = logging.getLogger(__name__)

READS = Counter("ducha_replica_reads", "Read-only scopes served by the streaming replica.", registry=REQUEST_REGISTRY)
FALLBACKS = Counter(
    "ducha_replica_fallback",
    "Read-only scopes sent to the primary instead of the replica (down: no answer; lag: too far behind).",
    ["reason"],
    registry=REQUEST_REGISTRY,
)
_EXT = "ducha_replica"

LAG_SQL = text(
    "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"
)


class Replica:
    """The replica engine of one app and its health (checked when a scope is entered)."""

    def __init__(self, url: str, *, max_lag: float, retry: float, idle_ping: float = 10.0, connect_timeout: int = 3):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        self.engine = create_engine(
            url,
            pool_pre_ping=False,
            connect_args={"connect_timeout": connect_timeout, "application_name": "ducha-replica-reads"},
        )
        install_idle_ping(self.engine, idle_ping)  # a standby restarted meanwhile: its idle connections are replaced
        self.max_lag, self.retry = max_lag, retry
        self._down_until = 0.0
        self._lock = threading.Lock()

    def usable(self) -> Engine | None:
        """The engine when the replica answers and is recent enough; None (logged and counted) otherwise."""
        if time.monotonic() < self._down_until:
            FALLBACKS.labels("down").inc()
            return None
        try:
            with self.engine.connect() as conn:
                recovering, lag = conn.execute(LAG_SQL).one()
                conn.rollback()
        except Exception as exc:  # any failure to answer: the primary serves, the page works
            with self._lock:
                self._down_until = time.monotonic() + self.retry
            self.engine.dispose()  # its pooled connections point at a server that went away
            FALLBACKS.labels("down").inc()
            log.warning("replica unavailable, reading from the primary for %.0f s: %s", self.retry, exc)
            return None
        if not recovering:
            FALLBACKS.labels("down").inc()
            log.warning("DATABASE_REPLICA_URL is not a standby (promoted?): reading from the primary")
            return None
        if lag is not None and float(lag) > self.max_lag:
            FALLBACKS.labels("lag").inc()
            log.warning("replica %.1f s behind (limit %.1f s): reading from the primary", float(lag), self.max_lag)
            return None
        READS.inc()
        return self.engine


def init_replica(app) -> None:
    """Create the replica engine when DATABASE_REPLICA_URL is set (PostgreSQL primaries only)."""
    url = (app.config.get("DATABASE_REPLICA_URL") or "").strip()
    if not url:
        return
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        log.warning("DATABASE_REPLICA_URL ignored: the primary is not PostgreSQL")
        return
    app.extensions[_EXT] = Replica(
        url,
        max_lag=float(app.config["REPLICA_MAX_LAG_SECONDS"]),
        retry=float(app.config["REPLICA_RETRY_SECONDS"]),
        idle_ping=float(app.config["DB_PING_IDLE_SECONDS"]),
    )


def replica_for(app) -> Replica | None:
    return app.extensions.get(_EXT)


@contextmanager
def replica_reads():
    """Send the plain reads of this block to the replica when it is usable (see the module docstring)."""
    replica = replica_for(current_app)
    engine = replica.usable() if replica is not None and ACTIVE_REPLICA.get() is None else ACTIVE_REPLICA.get()
    token = ACTIVE_REPLICA.set(engine)
    try:
        yield engine is not None
    finally:
        ACTIVE_REPLICA.reset(token)


def replica_view(view: Callable) -> Callable:
    """Decorate a read-only view (inside its permission check): its reads go to the replica."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        with replica_reads():
            return view(*args, **kwargs)

    return wrapped
