"""Fill a database with a realistic 3-year data set (R7.1, R7.2), reproducible from a seed.

    .venv/bin/python bench/generate.py --years 3 [--scale 1.0] [--seed 42] [--database-url URL] [--reset]

At scale 1.0: 2,000 accounts over the whole organisation tree, 100,000 enterprises, 600,000
inspections, 30,000 clue process instances (25,000 finished, 5,000 running with open inbox tasks)
with their clue rows, inbox rows, history, notifications and the audit trail they produce (a valid
HMAC-SM3 chain, checkpoint included). Rows go in through the models' tables with SQLAlchemy Core
bulk inserts; instances are clones of real runs through the engine (bench/clone.py).

The database must be empty (or pass --reset to empty it: only for a scratch database). Without
--database-url it is DATABASE_URL, else instance/bench/bench.sqlite3.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text
from tqdm import tqdm

from bench.common import (
    DEMO_PASSWORD,
    ROOT,
    bump_sequences,
    describe_url,
    ensure_database,
    has_tables,
    make_app,
    prepare_database,
)

DEFAULT_INSTANCE_DIR = ROOT / "instance" / "bench"
FULL = {"users": 2000, "enterprises": 100_000, "inspections": 600_000, "instances": 30_000, "running": 5_000}
CHUNK = 2000
INSPECTION_NOTES = [None, None, "未发现问题", "发现一般隐患，已责令整改", "发现重大隐患，已立案", "复查整改情况"]
# Clue status of a running bench instance, by its open step (app/clues/models.py STATUS).
CLUE_STATUS = {
    "register": "accepting",
    "review": "accepting",
    "judge": "judging",
    "handle": "handling",
    "close": "reviewing",
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--years", type=int, default=3)
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the full data set (0.01 for a smoke test)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--instance-dir", default=None, help=f"audit checkpoint and keys (default {DEFAULT_INSTANCE_DIR})")
    p.add_argument("--reset", action="store_true", help="empty the database first (a scratch database only)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="keep a data set generated earlier with the same years, scale and seed (migrate it); else generate",
    )
    return p.parse_args(argv)


def counts_for(scale: float) -> dict[str, int]:
    out = {k: max(1, round(v * scale)) for k, v in FULL.items()}
    out["running"] = min(out["running"], out["instances"])
    return out


class Generator:
    def __init__(self, *, years: int, scale: float, seed: int, quiet: bool = False):
        from app.models_base import utcnow

        self.years = years
        self.n = counts_for(scale)
        self.rng = random.Random(seed)
        self.quiet = quiet
        self.now = utcnow()
        self.oldest = self.now - timedelta(days=365 * years)
        self.rows: dict[str, int] = {}
        self.notes: list[str] = []

    def bar(self, total: int, desc: str):
        return tqdm(total=total, desc=f"{desc:<14}", unit="rows", disable=self.quiet, leave=not self.quiet)

    def insert(self, table, rows: list[dict], key: str) -> None:
        from app.extensions import db

        if rows:
            db.session.execute(insert(table), rows)
            self.rows[key] = self.rows.get(key, 0) + len(rows)

    # -- phases -------------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        from app.extensions import db

        self.reference()
        self.people_phase()
        self.enterprises()
        self.inspections()
        self.instances()
        self.audit_chain()
        db.session.commit()
        db.session.execute(text("ANALYZE"))  # fresh statistics for the query planner
        db.session.commit()
        return self.rows

    def reference(self) -> None:
        from app.demo.reference import seed_orgs, seed_roles
        from app.extensions import db

        seed_roles()
        self.orgs = seed_orgs()
        db.session.commit()
        self.rows["organisations"] = len(self.orgs)

    def people_phase(self) -> None:
        from app.auth.models import User
        from app.auth.services import make_password_hash
        from app.extensions import db
        from app.security.models import PasswordHistory
        from bench.people import seed_people

        with self.bar(self.n["users"], "users") as bar:
            password_hash = make_password_hash(DEMO_PASSWORD)  # once: every account shares it
            self.people = seed_people(self.rng, self.orgs, self.n["users"], password_hash, self.now, self.years)
            bar.update(len(self.people.users))
        bump_sequences(User.__table__, PasswordHistory.__table__)
        db.session.commit()
        self.rows["users"] = len(self.people.users)

    def enterprises(self) -> None:
        from app.demo.reference import load_json
        from app.enterprises.models import Enterprise
        from app.extensions import db
        from bench.people import enterprise_rows

        self.by_district: dict[str, list[dict]] = {}
        self.enterprise_list: list[tuple[int, int, str, str]] = []  # id, org id, district, grade
        chunk: list[dict] = []
        with self.bar(self.n["enterprises"], "enterprises") as bar:
            for row in enterprise_rows(
                self.rng, self.orgs, self.n["enterprises"], load_json("industries.json"), self.now
            ):
                chunk.append(row)
                self.by_district.setdefault(row["district_code"], []).append(
                    {"id": row["id"], "name": row["name"], "credit_code": row["credit_code"]}
                )
                self.enterprise_list.append((row["id"], row["org_id"], row["district_code"], row["grade"]))
                if len(chunk) >= CHUNK:
                    self.insert(Enterprise.__table__, chunk, "enterprises")
                    bar.update(len(chunk))
                    chunk = []
            self.insert(Enterprise.__table__, chunk, "enterprises")
            bar.update(len(chunk))
        bump_sequences(Enterprise.__table__)
        db.session.commit()

    def inspections(self) -> None:
        """Inspections spread over the years, more often for higher grades, by the district's people."""
        try:
            from app.plans.models import Inspection
        except ImportError:
            self.notes.append("inspections: the app has no inspection model; none generated")
            return
        from app.extensions import db
        from bench.people import next_id

        rng = self.rng
        weights = {"A": 4.0, "B": 2.0, "C": 1.0, "D": 0.5}
        population = self.enterprise_list
        cum = []
        total = 0.0
        for e in population:
            total += weights.get(e[3], 1.0)
            cum.append(total)
        districts = {o.district_code: o for o in self.orgs.values() if o.kind == "district"}
        inspectors = {
            d: [
                u["id"]
                for u in self.people.users
                if u["district"] == d and u["role"] in ("district_officer", "street_officer")
            ]
            for d in districts
        }
        span = (self.now - self.oldest).days
        iid = next_id(Inspection)
        chunk: list[dict] = []
        with self.bar(self.n["inspections"], "inspections") as bar:
            picks = rng.choices(population, cum_weights=cum, k=self.n["inspections"])
            for ent_id, org_id, district, _grade in picks:
                day = self.oldest.date() + timedelta(days=rng.randrange(span))
                if day.weekday() >= 5:
                    day -= timedelta(days=day.weekday() - 4)
                by_district = rng.random() < 0.4
                people = inspectors.get(district) or [None]
                chunk.append(
                    {
                        "id": iid,
                        "enterprise_id": ent_id,
                        "org_id": districts[district].id if by_district and district in districts else org_id,
                        "inspected_on": day,
                        "kind": rng.choices(("plan", "clue", "other"), weights=(7, 1, 2))[0],
                        "plan_item_id": None,
                        "note": rng.choice(INSPECTION_NOTES),
                        "created_by_id": rng.choice(people),
                        "created_at": _at(day, rng),
                    }
                )
                iid += 1
                if len(chunk) >= CHUNK * 2:
                    self.insert(Inspection.__table__, chunk, "inspections")
                    bar.update(len(chunk))
                    chunk = []
            self.insert(Inspection.__table__, chunk, "inspections")
            bar.update(len(chunk))
        bump_sequences(Inspection.__table__)
        db.session.commit()

    def instances(self) -> None:
        from app.engine.models import InstanceEvent, ProcessInstance
        from app.extensions import db
        from app.inbox.models import HumanTask, Notification
        from bench import clone, process
        from bench.people import next_id

        version = process.deploy()
        db.session.commit()
        templates = clone.record_templates(self.people, self.rng)
        factory = clone.InstanceFactory(templates, self.people, version.id, self.rng)
        n, running = self.n["instances"], self.n["running"]
        finished = n - running
        # Running instances by open step: what a live inbox looks like.
        stages = [5 if self.rng.random() > 0.08 else -1 for _ in range(finished)]
        stages += self.rng.choices([0, 1, 2, 3, 4], weights=(1, 3, 2, 3, 1.5), k=running)
        plans = [
            factory.plan(stage=s, now=self.now, oldest=self.oldest, enterprises_by_district=self.by_district)
            for s in stages
        ]
        plans.sort(key=lambda p: p.started)
        ids = clone.Ids(
            instance=next_id(ProcessInstance),
            task=next_id(HumanTask),
            event=next_id(InstanceEvent),
            notification=next_id(Notification),
        )
        clues = self._clue_table()
        clue_id = next_id(clues) if clues is not None else 0
        tables = {
            "instances": ProcessInstance.__table__,
            "tasks": HumanTask.__table__,
            "events": InstanceEvent.__table__,
            "notifications": Notification.__table__,
        }
        names = {"instances": "process_instances", "tasks": "human_tasks", "events": "instance_events"}
        with self.bar(len(plans), "instances") as bar:
            for start in range(0, len(plans), CHUNK // 4):
                batch: dict[str, list] = {k: [] for k in tables}
                clue_rows = []
                for plan in plans[start : start + CHUNK // 4]:
                    out = factory.build(plan, ids)
                    for k in tables:
                        batch[k].extend(out[k])
                    if clues is not None:
                        clue_rows.append(self._clue_row(clue_id, plan, out["instances"][0], templates))
                        clue_id += 1
                for k, table in tables.items():
                    self.insert(table, batch[k], names.get(k, k))
                if clues is not None:
                    self.insert(clues, clue_rows, "clues")
                bar.update(len(batch["instances"]))
        bump_sequences(*tables.values(), *([clues] if clues is not None else []))
        db.session.commit()
        self.factory = factory

    def _clue_table(self):
        try:
            from app.clues.models import Clue
        except ImportError:
            self.notes.append("clues: the app has no clue model; no clue rows generated")
            return None
        return Clue.__table__

    def _clue_row(self, clue_id: int, plan, inst: dict, templates) -> dict:
        rng = self.rng
        district = next(o for o in self.orgs.values() if o.kind == "district" and o.district_code == plan.district)
        stage = plan.stage
        open_step = templates.stages[stage].open_step
        if stage == 5:
            status, outcome = "closed", rng.choices(("substantiated", "partly", "unsubstantiated"), (5, 2, 3))[0]
        elif stage == -1:
            status, outcome = "rejected", "not_accepted"
        else:
            status, outcome = CLUE_STATUS.get(open_step, "handling"), None
        times = plan.step_times
        summary = inst["summary"]
        return {
            "id": clue_id,
            "number": inst["number"],
            "instance_id": inst["id"],
            "source": summary["source"],
            "content": f"群众反映{summary['enterprise_name']}存在安全生产违法行为，请核查",
            "enterprise_id": plan.enterprise["id"],
            "enterprise_name": summary["enterprise_name"],
            "credit_code": summary["credit_code"],
            "district_org_id": district.id,
            "handling_org_id": district.id if stage >= 3 or stage == 5 else None,
            "status": status,
            "priority": rng.choices(("urgent", "high", "normal"), (1, 3, 8))[0],
            "risk_level": rng.choices(("high", "medium", "low"), (1, 3, 4))[0],
            "verifiable": None if stage in (0, 1, -1) else True,
            "outcome": outcome,
            "deadline": (times[0] + timedelta(days=20)).date(),
            "returns_count": 0,
            "registered_by_id": plan.initiator["id"],
            "registered_at": times[0],
            "accepted_at": times[2] if len(times) > 2 and stage != -1 else None,
            "dispatched_at": times[3] if len(times) > 3 else None,
            "closed_at": times[-1] if stage in (5, -1) else None,
            "updated_at": times[-1],
        }

    def audit_chain(self) -> None:
        """The audit entries of every act, in time order, chained with HMAC-SM3 like audit.record does."""
        from flask import current_app

        from app.audit import checkpoint
        from app.audit.models import AuditEntry, AuditHead
        from app.audit.services import GENESIS, _mac
        from app.extensions import db
        from bench.people import next_id

        key = current_app.config["AUDIT_KEY"]
        head = db.session.get(AuditHead, 1)
        prev = head.last_mac if head is not None else GENESIS
        entries = sorted(self.factory.audit, key=lambda e: e[0])
        aid = next_id(AuditEntry)
        chunk: list[dict] = []
        with self.bar(len(entries), "audit trail") as bar:
            for at, actor_id, login, action, object_type, object_id, detail in entries:
                row = SimpleNamespace(
                    at=at,
                    actor_id=actor_id,
                    actor_login=login,
                    ip=None,
                    action=action,
                    object_type=object_type,
                    object_id=object_id,
                    detail=detail,
                )
                mac = _mac(key, prev, row)
                chunk.append({"id": aid, **vars(row), "prev_mac": prev, "mac": mac})
                prev = mac
                aid += 1
                if len(chunk) >= CHUNK * 2:
                    self.insert(AuditEntry.__table__, chunk, "audit_entries")
                    bar.update(len(chunk))
                    chunk = []
            self.insert(AuditEntry.__table__, chunk, "audit_entries")
            bar.update(len(chunk))
        last_id = aid - 1
        if head is None:
            db.session.add(AuditHead(id=1, last_id=last_id, last_mac=prev))
        else:
            head.last_id, head.last_mac = last_id, prev
        bump_sequences(AuditEntry.__table__)
        db.session.commit()
        checkpoint.write(checkpoint.checkpoint_path(), key, last_id, prev, force=True)


def _at(day: date, rng: random.Random):
    from datetime import UTC, datetime

    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 540))


def table_sizes() -> dict[str, int]:
    from app.extensions import db

    out = {}
    for table in db.metadata.sorted_tables:
        out[table.name] = db.session.scalar(select(func.count()).select_from(table)) or 0
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    instance_dir = Path(args.instance_dir or DEFAULT_INSTANCE_DIR)
    instance_dir.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{instance_dir / 'bench.sqlite3'}"
    ensure_database(url)
    app = make_app(url, str(instance_dir))
    marker = instance_dir / "generated.json"
    wanted = {"years": args.years, "scale": args.scale, "seed": args.seed, "database": describe_url(url)}
    if args.reuse:
        with app.app_context():
            if has_tables() and marker.exists() and json.loads(marker.read_text()) == wanted:
                from flask_migrate import upgrade

                upgrade()  # the data set stays; the schema follows the code
                print(f"reusing the data set generated earlier in {describe_url(url)} ({marker})")
                return 0
        args.reset = True  # another or an unfinished data set: generate it again
    marker.unlink(missing_ok=True)
    print(f"generating a {args.years}-year data set at scale {args.scale} (seed {args.seed}) into {describe_url(url)}")
    with app.app_context():
        prepare_database(reset=args.reset)
        gen = Generator(years=args.years, scale=args.scale, seed=args.seed, quiet=args.quiet)
        gen.run()
        sizes = table_sizes()
    elapsed = time.perf_counter() - started
    print("\nrows per table:")
    for name, count in sorted(sizes.items(), key=lambda kv: -kv[1]):
        if count:
            print(f"  {name:<28}{count:>12,}")
    for note in gen.notes:
        print(f"note: {note}")
    print(f"generated in {elapsed:.1f} s")
    marker.write_text(json.dumps(wanted), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
