"""Grade model and trigger benchmarks (R2.1.4/R2.1.5): prints figures.

    .venv/bin/python bench/grading.py [--enterprises 100000] [--records-per-enterprise 4]
        [--day-records 20000] [--database-url URL --reset]

1. full recompute of every enterprise's grade (first run: every score new; second run: nothing changed),
2. a dry run of the published model over all enterprises,
3. incremental recompute after one event (a new accident record on one enterprise), median and p95,
4. trigger evaluation over a day of incoming records (complaints, accidents, exchange records), including
   the dispatch processes the hits start.
Targets (issue 18): 100,000 enterprises < 60 s; one event < 200 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select

from bench.common import bump_sequences, describe_url, make_app, prepare_database

KINDS = ("accident", "violation", "complaint", "major_hazard", "standardisation", "insurance")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--enterprises", type=int, default=100_000)
    p.add_argument("--records-per-enterprise", type=float, default=4.0)
    p.add_argument("--day-records", type=int, default=20_000)
    p.add_argument("--events", type=int, default=50)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--database-url", default=None)
    p.add_argument("--reset", action="store_true")
    return p.parse_args(argv)


def _value(rng, kind, today):
    if kind == "accident":
        return {"deaths": int(rng.random() < 0.05), "injuries": rng.choice((0, 0, 1, 2, 3))}
    if kind in ("major_hazard", "standardisation"):
        return {"level": rng.randint(0, 4 if kind == "major_hazard" else 3)}
    if kind == "insurance":
        return {"valid_until": (today + timedelta(days=rng.randint(-300, 300))).isoformat()}
    return {}


def build(args, rng, today) -> list[int]:
    from app.demo.reference import load_json, seed_orgs, seed_roles
    from app.enterprises.models import Enterprise, EnterpriseRecord
    from app.extensions import db
    from app.models_base import utcnow
    from bench.people import enterprise_rows

    seed_roles()
    orgs = seed_orgs()
    db.session.commit()
    ids, chunk = [], []
    for row in enterprise_rows(rng, orgs, args.enterprises, load_json("industries.json"), utcnow()):
        chunk.append(row)
        ids.append(row["id"])
        if len(chunk) >= 5000:
            db.session.execute(insert(Enterprise), chunk)
            chunk = []
    if chunk:
        db.session.execute(insert(Enterprise), chunk)
    bump_sequences(Enterprise.__table__)
    rows = []
    total = int(args.enterprises * args.records_per_enterprise)
    for _ in range(total):
        kind = rng.choice(KINDS)
        rows.append(
            {
                "enterprise_id": rng.choice(ids),
                "kind": kind,
                "occurred_on": today - timedelta(days=rng.randint(1, 1200)),
                "title": kind,
                "value": _value(rng, kind, today),
                "source": "基准数据",
            }
        )
        if len(rows) >= 10000:
            db.session.execute(insert(EnterpriseRecord), rows)
            rows = []
    if rows:
        db.session.execute(insert(EnterpriseRecord), rows)
    db.session.commit()
    return ids


def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def main(argv=None) -> int:
    args = parse_args(argv)
    app = make_app(args.database_url)
    rng = random.Random(args.seed)
    with app.app_context():
        from app.engine import deploy
        from app.enterprises.models import EnterpriseRecord
        from app.extensions import db
        from app.grading import events, services
        from app.triggers import services as triggers
        from app.triggers.models import TriggerHit, TriggerRule, TriggerScenario

        prepare_database(reset=args.reset)
        today = services.today_local()
        print(f"database: {describe_url(args.database_url)}")
        (_, wall, _) = timed(lambda: build(args, rng, today))
        n_rec = db.session.scalar(select(func.count(EnterpriseRecord.id)))
        print(f"data: {args.enterprises:,} enterprises, {n_rec:,} records (built in {wall:.1f} s)")

        def full(reason):
            r = services.recompute(reason=reason)
            db.session.commit()
            return r

        for label in ("first (all scores new)", "again (nothing changed)"):
            r, wall, cpu = timed(lambda label=label: full(label))
            print(
                f"full recompute, {label}: {wall:.2f} s wall, {cpu:.2f} s CPU; scanned {r['scanned']:,}, "
                f"changed {r['changed']:,}, distinct input combinations {r['distinct_inputs']:,}"
            )
        draft = services.new_draft(type("U", (), {"id": None})())
        r, wall, cpu = timed(lambda: services.dry_run(draft))
        db.session.rollback()
        print(f"dry run of a model version over all: {wall:.2f} s wall; {r['changed']:,} would change grade")

        times, cpus = [], []
        for i in range(args.events):
            eid = rng.randint(1, args.enterprises)
            db.session.add(
                EnterpriseRecord(
                    enterprise_id=eid,
                    kind="accident",
                    occurred_on=today,
                    title="事故",
                    value={"deaths": 0, "injuries": 1},
                    source="基准",
                )
            )
            db.session.flush()
            t0, c0 = time.perf_counter(), time.process_time()
            events.enterprise_changed(eid, f"事件 {i}")
            db.session.commit()
            times.append((time.perf_counter() - t0) * 1000)
            cpus.append((time.process_time() - c0) * 1000)
        times.sort()
        print(
            f"incremental recompute after one event (+commit), {args.events} events: median "
            f"{statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95) - 1]:.1f} ms, "
            f"max {times[-1]:.1f} ms wall; "
            f"CPU median {statistics.median(cpus):.1f} ms"
        )

        folder = Path(app.config["WORKFLOWS_DIR"])
        deploy.deploy(deploy.sources_from_files(folder / "trigger_dispatch.bpmn"))
        for code, kind, cond in (
            ("c", "complaint", "True"),
            ("a", "accident", "deaths >= 1 or injuries >= 3"),
            ("x", "exchange", "level >= 3"),
        ):
            db.session.add(
                TriggerRule(code=code, version=1, name=code, record_kind=kind, condition=cond, status="published")
            )
        db.session.add(TriggerScenario(code="rep", name="重复投诉", rule_codes=["c"], min_count=3, window_days=30))
        db.session.add(TriggerScenario(code="acc", name="伤亡事故", rule_codes=["a"], min_count=1, window_days=7))
        db.session.add(
            TriggerScenario(
                code="mix", name="投诉叠加异常", rule_codes=["c", "x"], mode="all", min_count=2, window_days=30
            )
        )
        triggers.evaluate_new()  # move the cursor past the historical records
        db.session.commit()
        day = []
        for _ in range(args.day_records):
            kind = rng.choice(("complaint", "complaint", "accident", "exchange"))
            value = {"level": rng.randint(1, 4)} if kind == "exchange" else _value(rng, kind, today)
            day.append(
                {
                    "enterprise_id": rng.randint(1, args.enterprises),
                    "kind": kind,
                    "occurred_on": today,
                    "title": kind,
                    "value": value,
                    "source": "基准：当日数据",
                }
            )
        db.session.execute(insert(EnterpriseRecord), day)
        db.session.commit()

        def evaluate_day():
            total = {"evaluated": 0, "hits": 0}
            while True:
                r = triggers.evaluate_new()
                db.session.commit()
                total["evaluated"] += r["evaluated"]
                total["hits"] += r["hits"]
                if r["evaluated"] == 0:
                    return total

        r, wall, cpu = timed(evaluate_day)
        hits = db.session.scalar(select(func.count(TriggerHit.id)))
        print(
            f"trigger evaluation over a day of {args.day_records:,} records: {wall:.2f} s wall, {cpu:.2f} s CPU; "
            f"{r['hits']:,} hits (opened or merged), {hits:,} dispatch processes started"
        )
        db.session.remove()
        db.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
