"""Position reports of the dispatch screen: 500 devices reporting every 5 s.

    .venv/bin/python bench/dispatch_positions.py [--devices 500] [--rounds 60] [--interval 0]
                                                 [--database-url URL --reset]

Each round is one batch of every device's position, applied the two ways the app receives them:
- service: `app.dispatch.devices.apply_positions` + commit (what the scheduler's gateway poll does);
- webhook: the same batch as a signed POST to /dispatch/gateway/webhook through Flask's test client
  (JSON parsing, HMAC check, the UPDATE, the commit), as a push-mode gateway would send it.
Server time per batch (wall and CPU of this process) is reported as p50/p95/max; the target is p95 < 50 ms.
It also times one SSE tick for 50 open map screens: the snapshot query the screens of a process share
(app/dispatch/api.py) and the 50 payloads filtered from it. --interval 5 runs at the real cadence
(with --rounds 360 that is 30 minutes) and prints the process's memory at the start and the end.
Bounded by --rounds; without --database-url on a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import random
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bench.common import DbCpu, describe_url, ensure_database, make_app, prepare_database


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--devices", type=int, default=500)
    p.add_argument("--rounds", type=int, default=60)
    p.add_argument("--interval", type=float, default=0.0, help="seconds between rounds (5 = the real cadence)")
    p.add_argument("--database-url", default=None)
    p.add_argument("--reset", action="store_true")
    p.add_argument("--seed", type=int, default=42)
    return p.parse_args(argv)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(n: int) -> list[str]:
    from app.demo.reference import seed_orgs, seed_roles
    from app.dispatch.models import Device
    from app.extensions import db
    from app.orgs.models import Organisation

    seed_roles()
    seed_orgs()
    orgs = list(db.session.scalars(select(Organisation).where(Organisation.kind == "district")))
    codes = []
    for i in range(n):
        kind = "camera" if i % 4 else "vehicle"
        code = f"B{kind[0].upper()}{i:05d}"
        db.session.add(Device(code=code, kind=kind, name=code, org_id=orgs[i % len(orgs)].id, online=True))
        codes.append(code)
    db.session.commit()
    return codes


def main(argv=None) -> int:
    args = parse_args(argv)
    ensure_database(args.database_url)
    app = make_app(args.database_url, GATEWAY_WEBHOOK_SECRET="bench-secret")
    rng = random.Random(args.seed)
    with app.app_context():
        prepare_database(reset=args.reset)
        codes = setup(args.devices)
    pos = {c: [121.2 + rng.random() * 0.6, 30.9 + rng.random() * 0.5] for c in codes}

    def batch(t: float) -> list[dict]:
        out = []
        for c, p in pos.items():
            p[0] += rng.uniform(-0.0005, 0.0005)
            p[1] += rng.uniform(-0.0005, 0.0005)
            out.append({"id": c, "lon": round(p[0], 6), "lat": round(p[1], 6), "online": True, "ts": t})
        return out

    from app.dispatch.devices import apply_positions
    from app.extensions import db

    client = app.test_client()
    with app.app_context():
        dbcpu = DbCpu(db.engine)
    dbc = {"service": [], "webhook": []}
    wall = {"service": [], "webhook": []}
    cpu = {"service": [], "webhook": []}
    sse = []
    rss0 = rss_mb()
    print(f"dispatch positions: {args.devices} devices, {args.rounds} rounds, {describe_url(args.database_url)}")
    for _r in range(args.rounds):
        t = time.time()
        with app.app_context():
            b = batch(t)
            c0, w0, d0 = time.process_time(), time.perf_counter(), dbcpu.seconds()
            assert apply_positions(b) == args.devices
            db.session.commit()
            wall["service"].append((time.perf_counter() - w0) * 1000)
            cpu["service"].append((time.process_time() - c0) * 1000)
            dbc["service"].append((dbcpu.seconds() - d0) * 1000)
        body = json.dumps({"positions": batch(t + 0.5)}).encode()
        sig = hmac.new(b"bench-secret", body, hashlib.sha256).hexdigest()
        c0, w0, d0 = time.process_time(), time.perf_counter(), dbcpu.seconds()
        resp = client.post("/dispatch/gateway/webhook", data=body, headers={"X-Gateway-Signature": sig})
        wall["webhook"].append((time.perf_counter() - w0) * 1000)
        cpu["webhook"].append((time.process_time() - c0) * 1000)
        dbc["webhook"].append((dbcpu.seconds() - d0) * 1000)
        assert resp.status_code == 200 and resp.get_json()["positions"] == args.devices, resp.get_data()
        # the SSE side: one shared snapshot query per interval and process, then 50 screens filter it
        with app.app_context():
            from app.dispatch.api import _snapshot

            cursor = datetime.fromtimestamp(t, tz=UTC) - timedelta(seconds=2)
            w0 = time.perf_counter()
            rows = _snapshot(0)
            for _screen in range(50):
                "[" + ",".join(r[2] for r in rows if r[1] > cursor) + "]"
            sse.append((time.perf_counter() - w0) * 1000)
        if args.interval:
            time.sleep(max(0.0, args.interval - (time.time() - t)))
    print(f"  load average now {Path('/proc/loadavg').read_text().split()[0]} (2 cores: wall times include waiting)")
    for mode in ("service", "webhook"):
        w, c, d = wall[mode], cpu[mode], dbc[mode]
        print(
            f"  {mode:8s} per batch of {args.devices}: wall p50 {statistics.median(w):6.1f} ms  "
            f"p95 {pct(w, 95):6.1f} ms  max {max(w):6.1f} ms (target p95 < 50 ms: "
            f"{'met' if pct(w, 95) < 50 else 'NOT met'}) | app CPU p50 {statistics.median(c):5.1f} ms "
            f"p95 {pct(c, 95):5.1f} ms | database CPU mean {statistics.mean(d):5.1f} ms (10 ms ticks)"
        )
    s50 = statistics.median(sse)
    print(
        f"  SSE, 50 open screens, one 2-s tick (one shared snapshot query + 50 filtered payloads of "
        f"{args.devices} devices): p50 {s50:.1f} ms, p95 {pct(sse, 95):.1f} ms = {s50 / 2:.0f} ms per second"
    )
    print(f"  memory (RSS) at start {rss0:.0f} MB, at end {rss_mb():.0f} MB over {args.rounds} rounds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
