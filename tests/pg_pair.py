"""A throw-away PostgreSQL primary and streaming replica on loopback (tests of app/ops/replica.py).

initdb a primary (wal_level=replica, a replication line in pg_hba.conf) on a free port, `pg_basebackup -R`
a hot standby from it on another port, start both. Runs the binaries as the `postgres` system user when
the tests run as root (initdb refuses root). Everything lives in one temporary folder, removed on stop.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

BIN = Path("/usr/lib/postgresql/15/bin")


def missing_reason() -> str | None:
    """Why a pair cannot be started here, or None."""
    for tool in ("initdb", "pg_ctl", "pg_basebackup"):
        if not (BIN / tool).is_file():
            return f"PostgreSQL 15 binaries missing ({BIN / tool}): the replica tests need them"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a `postgres` system user: initdb refuses root"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgPair:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="ducha-pgpair-"))
        self.primary_port, self.replica_port = _free_port(), _free_port()
        self.primary_dir, self.replica_dir = self.root / "primary", self.root / "replica"
        self._user = None
        if os.geteuid() == 0:
            self._user = pwd.getpwnam("postgres")
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)

    def _run(self, *args: str) -> None:
        cmd = [str(BIN / args[0]), *args[1:]]
        if self._user is not None:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def url(self, which: str, database: str = "ducha", driver: str = "postgresql+psycopg") -> str:
        port = self.primary_port if which == "primary" else self.replica_port
        return f"{driver}://postgres@127.0.0.1:{port}/{database}"

    def connect(self, which: str, database: str = "ducha") -> psycopg.Connection:
        return psycopg.connect(self.url(which, database, "postgresql"), autocommit=True, connect_timeout=5)

    def start(self, database: str = "ducha") -> PgPair:
        self._run("initdb", "-D", str(self.primary_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        settings = (
            f"\nport = {self.primary_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
            "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nfsync = off\nsynchronous_commit = off\n"
            "full_page_writes = off\nmax_connections = 40\nshared_buffers = 32MB\n"
        )
        with open(self.primary_dir / "postgresql.conf", "a") as conf:
            conf.write(settings)
        with open(self.primary_dir / "pg_hba.conf", "a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        self._run("pg_ctl", "-D", str(self.primary_dir), "-l", str(self.root / "primary.log"), "-w", "start")
        with self.connect("primary", "postgres") as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        self._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary_port),
            "-U",
            "postgres",
            "-D",
            str(self.replica_dir),
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
            "--no-sync",
        )
        with open(self.replica_dir / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.replica_port}\n")
        self.start_replica()
        return self

    def start_replica(self) -> None:
        self._run("pg_ctl", "-D", str(self.replica_dir), "-l", str(self.root / "replica.log"), "-w", "start")

    def stop_replica(self) -> None:
        self._run("pg_ctl", "-D", str(self.replica_dir), "-m", "fast", "-w", "stop")

    def wait_replayed(self, timeout: float = 20) -> None:
        """Until the replica has replayed everything the primary wrote so far (the insert position: with
        synchronous_commit off a commit can be past the write position, not yet sent to the replica)."""
        with self.connect("primary", "postgres") as p:
            target = p.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with self.connect("replica", "postgres") as r:
            while time.monotonic() < deadline:
                if r.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()[0]:
                    return
                time.sleep(0.05)
        raise TimeoutError("the replica did not catch up")

    def stop(self) -> None:
        for data in (self.replica_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                with contextlib.suppress(subprocess.CalledProcessError):
                    self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
