"""CPU and SQL statements per peer-bench call, in-process (no gunicorn, no HTTP): where the app's own time goes.

    .venv/bin/python bench/calls.py [--database-url URL] [--instance-dir DIR] [--instances 40] [--show-sql]

Runs the peer-bench's calls (1 start of `arena_five_tasks` + 5 × (ready list + submit)) through Flask's test
client as `city_officer1`, on a database prepared by `bench/peer.py` (demo accounts and the peer's processes
deployed; default `ducha_bench_peer`, instance directory as bench/peer.py keeps it with --keep). Prints the app's
CPU milliseconds per instance and, per call kind, CPU ms and statements (SQLAlchemy `before_cursor_execute`:
BEGIN and COMMIT are not counted here). Compare with bench/peer.py's figure, which adds gunicorn, HTTP and the
database's own CPU.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event

from bench.common import DEMO_PASSWORD

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/ducha_bench_peer"
PROCESS = "arena_five_tasks"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=DEFAULT_URL)
    p.add_argument("--instance-dir", default=None, help="the instance directory the database was prepared with")
    p.add_argument("--instances", type=int, default=40)
    p.add_argument("--show-sql", action="store_true", help="print the statements of one submit")
    return p.parse_args(argv)


class Calls:
    def __init__(self, app):
        self.client = app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        form = {"login": "city_officer1", "password": DEMO_PASSWORD, "csrf_token": token.group(1) if token else ""}
        resp = self.client.post("/login", data=form)
        if resp.status_code not in (302, 303):
            raise SystemExit(f"login failed: {resp.status_code}")
        page = self.client.get("/inbox/start").get_data(as_text=True)
        meta = re.search(r'name="csrf-token" content="([^"]+)"', page)
        self.csrf = meta.group(1) if meta else ""
        self.cpu: dict[str, float] = collections.defaultdict(float)
        self.count: collections.Counter = collections.Counter()
        self.statements: collections.Counter = collections.Counter()
        self.log: dict[str, list[str]] = collections.defaultdict(list)
        self.current: str | None = None

    def timed(self, kind: str, call):
        self.current = kind
        started = time.process_time()
        resp = call()
        self.cpu[kind] += time.process_time() - started
        self.count[kind] += 1
        self.current = None
        return resp

    def one_instance(self) -> None:
        headers = {"X-CSRFToken": self.csrf}
        resp = self.timed(
            "start",
            lambda: self.client.post(
                f"/inbox/start/{PROCESS}", data={"csrf_token": self.csrf}, headers={"Accept": "text/html"}
            ),
        )
        first = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
        instance = None
        for _ in range(5):
            listed = self.timed("list", lambda: self.client.get(f"/api/v1/tasks?tab=todo&process={PROCESS}"))
            items = listed.get_json()["items"]
            if instance is None:
                instance = next(t["instance"]["id"] for t in items if t["id"] == first)
            task = next(t for t in items if t["instance"]["id"] == instance and t["status"] == "open")
            body = {"action": "complete", "data": {"note": "x"}}
            url = f"/api/v1/tasks/{task['id']}/complete"
            resp = self.timed("submit", lambda url=url, body=body: self.client.post(url, json=body, headers=headers))
            if resp.status_code != 200:
                raise SystemExit(f"submit: HTTP {resp.status_code}")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.instance_dir:
        os.environ["DUCHA_INSTANCE_DIR"] = args.instance_dir
    os.environ["DATABASE_URL"] = args.database_url
    from app import create_app
    from app.extensions import db

    app = create_app()
    calls = Calls(app)
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, *rest):
        if calls.current:
            calls.statements[calls.current] += 1
            calls.log[calls.current].append(" ".join(statement.split())[:110])

    for _ in range(5):  # warm-up: caches, connections, prepared statements
        calls.one_instance()
    calls.cpu.clear()
    calls.count.clear()
    calls.statements.clear()
    started = time.process_time()
    for _ in range(args.instances):
        calls.one_instance()
    total = time.process_time() - started
    print(f"app CPU per instance: {total / args.instances * 1000:.1f} ms ({args.instances} instances)")
    print("| call | CPU ms | statements |")
    print("|---|---|---|")
    for kind in ("start", "list", "submit"):
        n = calls.count[kind]
        print(f"| {kind} | {calls.cpu[kind] / n * 1000:.2f} | {calls.statements[kind] / n:.1f} |")
    if args.show_sql:
        calls.log.clear()
        calls.one_instance()
        print("statements of the submits of one instance:")
        for line in calls.log["submit"]:
            print("  ", line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
