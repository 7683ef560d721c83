"""监督统计分析 over the 3-year data set: summary rebuild time, incremental refresh time, query p50/p95.

    .venv/bin/python bench/generate.py --years 3 --instance-dir instance/bench-eff   # once (or --reuse)
    .venv/bin/python bench/stats_query.py --instance-dir instance/bench-eff [--rounds 5] [--database-url URL]

The summary table is rebuilt from scratch first (bench/generate.py bulk-inserts past the ORM, so the
incremental tracking never saw those rows); then every query of the mix runs `--rounds` times, as the city
(all data) and as one district (its data scope), and the latencies are printed. Target: p95 < 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, make_app

SUBJECTS = ("clue", "inspection", "soe", "trigger", "dispatch", "efficiency")
MIX = [
    ("month", []),
    ("month", ["district"]),
    ("quarter", ["district", "industry"]),
    ("year", ["grade"]),
    ("week", ["source"]),
    ("day", []),
    ("month", ["street"]),
]


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--instance-dir", default=str(ROOT / "instance" / "bench"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--skip-rebuild", action="store_true")
    args = ap.parse_args(argv)
    url = args.database_url or f"sqlite:///{Path(args.instance_dir) / 'bench.sqlite3'}"
    app = make_app(url, args.instance_dir)
    from sqlalchemy import func, select

    from app.clues.models import Clue
    from app.extensions import db
    from app.orgs.models import Organisation
    from app.security.scope import DataScope
    from app.stats import query, summary
    from app.stats.models import StatsDaily

    with app.app_context():
        print(f"database: {url.split('@')[-1]}")
        if not args.skip_rebuild:
            t = time.perf_counter()
            rows = summary.rebuild(
                progress=lambda pct, msg: print(f"  {time.perf_counter() - t:6.1f} s {msg}", flush=True)
            )
            db.session.commit()
            print(f"summary rebuild from scratch: {time.perf_counter() - t:.1f} s, {rows:,} summary rows")
        total = db.session.scalar(select(func.count(StatsDaily.id)))
        last = db.session.scalar(select(func.max(StatsDaily.day))) or date.today()
        print(f"summary rows: {total:,}; last day {last}")
        district = db.session.scalar(
            select(Organisation).where(Organisation.kind == "district").order_by(Organisation.code)
        )
        scopes = {
            "city": DataScope(all=True, label="全市"),
            "district": DataScope(all=False, path=district.path, label=district.name),
        }
        start = last - timedelta(days=3 * 365)
        timings: dict[str, list[float]] = {"city": [], "district": []}
        slowest = (0.0, "")
        for _ in range(args.rounds):
            for subject in SUBJECTS:
                for period, groups in MIX:
                    s = start if period != "day" else last - timedelta(days=90)
                    q = query.Query(
                        subject=subject,
                        period=period,
                        start=s,
                        end=last,
                        groups=groups,
                        measures=["n", "closed", "overdue", "avg_hours"],
                    )
                    for name, scope in scopes.items():
                        t = time.perf_counter()
                        query.run(scope, q)
                        took = time.perf_counter() - t
                        timings[name].append(took)
                        if took > slowest[0]:
                            slowest = (took, f"{name} {subject} {period} {groups}")
                db.session.rollback()
        for name, values in timings.items():
            print(
                f"queries as {name:<8}: n={len(values)} p50={statistics.median(values) * 1000:.0f} ms "
                f"p95={_pct(values, 95) * 1000:.0f} ms max={max(values) * 1000:.0f} ms"
            )
        print(f"slowest: {slowest[0] * 1000:.0f} ms ({slowest[1]})")
        # incremental: 200 new clues through the ORM, then one refresh
        clue = db.session.scalar(select(Clue).limit(1))
        if clue is not None:
            for _i in range(200):
                db.session.add(
                    Clue(source="hotline", content="bench", district_org_id=clue.district_org_id, status="handling")
                )
            db.session.flush()
            t = time.perf_counter()
            days = summary.refresh()
            print(f"incremental refresh after 200 new clues: {(time.perf_counter() - t) * 1000:.0f} ms ({days} day(s))")
            db.session.rollback()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
