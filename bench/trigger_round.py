"""Trigger evaluation round, batched against per record (issue 18): prints figures.

    .venv/bin/python bench/trigger_round.py [--enterprises 2000] [--day-records 2000] [--mode both]

The same data (seeded) is built in a fresh temporary SQLite database for each mode:
- ``per-record``: the former round, each record evaluated alone (``evaluate_record`` without a batch): a new
  hit's dispatch process is started inside the evaluation loop and each later record of the same enterprise
  and scenario looks the hit up again in the database;
- ``batched``: ``evaluate_new``: the round's hits are merged in memory and the dispatches started after it.
Prints wall and CPU seconds, hits, dispatch processes started, and how many of the starts happened while
records were still being evaluated.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select

from bench.common import make_app, prepare_database
from bench.grading import _value, build


def run(mode: str, args) -> str:
    app = make_app(None)
    rng = random.Random(args.seed)
    with app.app_context():
        from app.engine import deploy
        from app.enterprises.models import EnterpriseRecord
        from app.extensions import db
        from app.grading import services
        from app.triggers import process
        from app.triggers import services as triggers
        from app.triggers.models import TriggerRule, TriggerScenario

        prepare_database(reset=False)
        today = services.today_local()
        build(SimpleNamespace(enterprises=args.enterprises, records_per_enterprise=2.0), rng, today)
        deploy.deploy(deploy.sources_from_files(Path(app.config["WORKFLOWS_DIR"]) / "trigger_dispatch.bpmn"))
        for code, kind, cond in (("c", "complaint", "True"), ("a", "accident", "deaths >= 1 or injuries >= 3")):
            db.session.add(
                TriggerRule(code=code, version=1, name=code, record_kind=kind, condition=cond, status="published")
            )
        db.session.add(TriggerScenario(code="rep", name="重复投诉", rule_codes=["c"], min_count=2, window_days=30))
        db.session.add(TriggerScenario(code="acc", name="伤亡事故", rule_codes=["a"], min_count=1, window_days=7))
        triggers.evaluate_new()  # the cursor past the history
        db.session.commit()
        # A day of records, concentrated on a few hundred enterprises (repeat complaints merge).
        hot = rng.sample(range(1, args.enterprises + 1), max(1, args.enterprises // 10))
        day = [
            {
                "enterprise_id": rng.choice(hot),
                "kind": (kind := rng.choice(("complaint", "complaint", "accident"))),
                "occurred_on": today,
                "title": kind,
                "value": _value(rng, kind, today),
                "source": "基准：当日数据",
            }
            for _ in range(args.day_records)
        ]
        db.session.execute(insert(EnterpriseRecord), day)
        db.session.commit()

        in_loop, starts_inside = [False], [0]
        real_start, real_evaluate = process.start_for, triggers.evaluate_record

        def counting_start(hit):
            starts_inside[0] += in_loop[0]
            return real_start(hit)

        def marking_evaluate(rec, **kw):
            in_loop[0] = True
            try:
                return real_evaluate(rec, **kw)
            finally:
                in_loop[0] = False

        process.start_for, triggers.evaluate_record = counting_start, marking_evaluate
        t0, c0 = time.perf_counter(), time.process_time()
        if mode == "batched":
            hits = triggers.evaluate_new(batch=args.day_records + 10)["hits"]
        else:
            rules = triggers.published_rules()
            scenarios = list(db.session.scalars(select(TriggerScenario).where(TriggerScenario.active.is_(True))))
            recs = list(db.session.scalars(select(EnterpriseRecord).where(EnterpriseRecord.source == "基准：当日数据")))
            hits = 0
            for rec in recs:
                hits += len(triggers.evaluate_record(rec, rules=rules, scenarios=scenarios))
        db.session.commit()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        process.start_for, triggers.evaluate_record = real_start, real_evaluate
        from app.triggers.models import TriggerHit

        opened = db.session.scalar(select(func.count(TriggerHit.id)))
        started = db.session.scalar(select(func.count(TriggerHit.id)).where(TriggerHit.instance_id.is_not(None)))
        db.session.remove()
        db.engine.dispose()
    return (
        f"{mode:>10}: {args.day_records:,} records over {len(hot):,} enterprises: {wall:.2f} s wall, {cpu:.2f} s CPU; "
        f"{hits:,} hits (opened or merged), {opened:,} hits, {started:,} dispatches started, "
        f"{starts_inside[0]:,} of them inside the evaluation loop"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--enterprises", type=int, default=2000)
    p.add_argument("--day-records", type=int, default=2000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--mode", choices=("both", "per-record", "batched"), default="both")
    args = p.parse_args(argv)
    for mode in ("per-record", "batched") if args.mode == "both" else (args.mode,):
        print(run(mode, args), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
