"""What the benchmarks share: the app they build, an empty migrated database, and the meters.

Meters: `SqlMeter` counts SQL statements (SQLAlchemy `before_cursor_execute`) and commits on the app's
engine; `DbCpu` reads the CPU time of the PostgreSQL backends the app's connections talk to (from
/proc, so the database's own work is counted too; SQLite runs inside the process and needs none).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, inspect, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ first on the path, not the project
    sys.path.insert(0, str(ROOT))

DEMO_PASSWORD = "Ducha@2026"
# Settings every benchmark app shares; the password iterations stay at the production value so a
# login costs what it costs in production.
BENCH_CONFIG = {
    "WTF_CSRF_ENABLED": False,
    "SCHEDULER_ENABLED": False,
    "LOGIN_RATE_LIMIT": "1000000 per minute",
}


def make_app(database_url: str | None, instance_dir: str | None = None, **overrides):
    """The Flask app on the given database (a temporary SQLite file when None)."""
    from app import create_app

    instance = Path(instance_dir or tempfile.mkdtemp(prefix="ducha-bench-"))
    url = database_url or f"sqlite:///{instance / 'bench.sqlite3'}"
    config = {
        **BENCH_CONFIG,
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_DIR": str(instance),
        "UPLOAD_DIR": str(instance / "uploads"),
        **overrides,
    }
    return create_app(config)


def ensure_database(url: str | None) -> None:
    """Create a PostgreSQL database named by `url` when it does not exist yet (benchmark scratch databases)."""
    if not url or not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}):
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def has_tables() -> bool:
    from app.extensions import db

    return bool(inspect(db.engine).get_table_names())


def reset_database() -> None:
    """Drop everything in the database (only for a scratch database the caller named)."""
    from app.extensions import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            for name in inspect(conn).get_table_names():
                conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))


def prepare_database(*, reset: bool) -> None:
    """An empty database migrated to head; refuses to touch a database with tables unless `reset`."""
    from flask_migrate import upgrade

    from app.extensions import db

    if has_tables():
        if not reset:
            raise SystemExit(
                f"database {db.engine.url.render_as_string(hide_password=True)} is not empty: "
                "point the benchmark at a scratch database, or pass --reset to empty it"
            )
        reset_database()
    upgrade()


def bump_sequences(*tables) -> None:
    """After inserting explicit ids on PostgreSQL, move each table's id sequence past them."""
    from app.extensions import db

    if db.engine.dialect.name != "postgresql":
        return
    for table in tables:
        name = table.name
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f'(SELECT COALESCE(MAX(id), 0) + 1 FROM "{name}"), false)'
            )
        )


# ---------------------------------------------------------------------------------------------
# meters


class SqlMeter:
    """Counts statements and commits on an engine (listeners stay attached; read deltas)."""

    def __init__(self, engine):
        self.engine = engine
        self.statements = 0
        self.commits = 0
        self.log: list[str] | None = None
        event.listen(engine, "before_cursor_execute", self._on_execute)
        event.listen(engine, "commit", self._on_commit)

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        self.statements += 1
        if self.log is not None:
            self.log.append(" ".join(statement.split())[:160])

    def _on_commit(self, conn):
        self.commits += 1

    def snapshot(self) -> tuple[int, int]:
        return self.statements, self.commits

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)
        event.remove(self.engine, "commit", self._on_commit)


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (and nothing of its children), from /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


class DbCpu:
    """CPU seconds spent by the PostgreSQL backends of an engine's connections (0 for SQLite)."""

    def __init__(self, engine):
        self.pids: set[int] = set()
        self.enabled = engine.dialect.name == "postgresql"
        if self.enabled:
            event.listen(engine, "connect", self._on_connect)
            engine.dispose()  # reconnect so every pooled connection is seen

    def _on_connect(self, dbapi_connection, record):
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        self.pids.add(int(cursor.fetchone()[0]))
        cursor.close()

    def seconds(self) -> float:
        return sum(proc_cpu_seconds(pid) for pid in self.pids) if self.enabled else 0.0


@dataclass
class Sample:
    wall: float = 0.0
    cpu: float = 0.0  # this process
    db_cpu: float = 0.0  # the database server's backends (PostgreSQL)
    statements: int = 0
    commits: int = 0

    def __iadd__(self, other: Sample) -> Sample:
        self.wall += other.wall
        self.cpu += other.cpu
        self.db_cpu += other.db_cpu
        self.statements += other.statements
        self.commits += other.commits
        return self


@contextmanager
def measure(meter: SqlMeter, dbcpu: DbCpu, into: Sample):
    """Add the wall time, CPU time (process and database) and SQL counts of the block to `into`."""
    s0, c0 = meter.snapshot()
    d0 = dbcpu.seconds()
    p0 = time.process_time()
    w0 = time.perf_counter()
    try:
        yield
    finally:
        into.wall += time.perf_counter() - w0
        into.cpu += time.process_time() - p0
        into.db_cpu += dbcpu.seconds() - d0
        s1, c1 = meter.snapshot()
        into.statements += s1 - s0
        into.commits += c1 - c0


def describe_url(url: str | None) -> str:
    if not url:
        return "sqlite (temporary file)"
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
