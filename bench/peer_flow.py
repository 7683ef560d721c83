"""The peer-bench flow inside one process, for profiling the app's own cost of an instance (issue #15).

    .venv/bin/python bench/peer_flow.py [--database-url URL] [--instances 40] [--mode cpu|split|calls]
    .venv/bin/py-spy record --gil -f raw -o flow.txt -- .venv/bin/python bench/peer_flow.py --instances 150

The same calls as `../shared/peer-bench/bench.py --adapter ducha` (log in once, then per instance: the start
form's POST, and five times the ready list and the submit of its task), through Flask's test client on the
PostgreSQL database of `bench/peer.py` (prepared the same way when it is missing), without gunicorn, the
scheduler or the network: what is measured is the app's Python and its database round trips.

- `cpu`: CPU seconds of this process per instance (process time; compare interleaved runs only, since the
  figure moves with the machine's speed);
- `split`: the same per call (start, list, submit);
- `calls`: Python function calls per instance (cProfile's count): does not depend on the machine's speed, so
  it compares trees taken at different times.
Five instances warm the caches first.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DEMO_PASSWORD, make_app
from bench.peer import DEFAULT_URL, prepare

PROCESS = "arena_five_tasks"
BODY = {"action": "complete", "data": {"note": "x"}}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=os.environ.get("BENCH_PEER_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--instances", type=int, default=40)
    p.add_argument("--mode", choices=("cpu", "split", "calls"), default="cpu")
    p.add_argument("--reset", action="store_true", help="drop and recreate the database first")
    return p.parse_args(argv)


class Flow:
    def __init__(self, app):
        self.client = app.test_client()
        r = self.client.post("/login", data={"login": "city_officer1", "password": DEMO_PASSWORD})
        if r.status_code not in (302, 303):
            raise SystemExit(f"login failed: {r.status_code}")
        self.spent: Counter = Counter()

    def _timed(self, name: str, call):
        began = time.process_time()
        resp = call()
        self.spent[name] += time.process_time() - began
        return resp

    def instance(self) -> None:
        c = self.client
        r = self._timed("start", lambda: c.post(f"/inbox/start/{PROCESS}", data={}))
        if r.status_code not in (302, 303):
            raise SystemExit(f"start failed: {r.status_code}")
        for _ in range(5):
            items = self._timed("list", lambda: c.get(f"/api/v1/tasks?tab=todo&process={PROCESS}")).get_json()
            task = items["items"][0]["id"]
            r = self._timed("submit", lambda task=task: c.post(f"/api/v1/tasks/{task}/complete", json=BODY))
            if r.status_code != 200:
                raise SystemExit(f"submit failed: {r.status_code} {r.get_data(as_text=True)[:200]}")


def main(argv=None) -> int:
    args = parse_args(argv)
    instance_dir = tempfile.mkdtemp(prefix="ducha-peer-flow-")
    env = {**os.environ, "DATABASE_URL": args.database_url, "DUCHA_INSTANCE_DIR": instance_dir}
    prepare(args, env)
    app = make_app(args.database_url, instance_dir)
    flow = Flow(app)
    for _ in range(5):
        flow.instance()
    flow.spent.clear()
    n = args.instances
    if args.mode == "calls":
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        for _ in range(n):
            flow.instance()
        profile.disable()
        print(f"{pstats.Stats(profile).total_calls / n:,.0f} Python calls per instance ({n} instances)")
        return 0
    began, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        flow.instance()
    cpu = (time.process_time() - began) / n * 1000
    print(f"{cpu:.1f} ms CPU per instance, {(time.perf_counter() - wall) / n * 1000:.1f} ms wall ({n} instances)")
    if args.mode == "split":
        per = {"start": n, "list": 5 * n, "submit": 5 * n}
        print(", ".join(f"{k} {v / per[k] * 1000:.2f} ms" for k, v in flow.spent.items()), "CPU per call")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
