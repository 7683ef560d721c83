"""评议考核 computation over many people: N officers spread over the 16 districts, random 效能识别 records,
one round of the default monthly scheme computed (all data sources, ranks, 负责人考核生成). Prints the
time and the number of SQL statements.

    .venv/bin/python bench/appraisal_compute.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/ducha_appraisal --reset [--people 3000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="评议考核 computation benchmark")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--reset", action="store_true", help="empty the (scratch) database first")
    p.add_argument("--people", type=int, default=3000)
    args = p.parse_args(argv)
    if not args.database_url or not args.reset:
        sys.exit("give --database-url of a scratch database and --reset")

    from flask_migrate import upgrade
    from sqlalchemy import event, insert, select, text

    from app import create_app
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "SCHEDULER_ENABLED": False, "TESTING": True})
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        from app.appraisal import compute, process, schemes
        from app.auth.models import Role, User, user_roles
        from app.demo.reference import seed_orgs, seed_roles
        from app.efficiency.models import EffViolation
        from app.engine.runtime import SHANGHAI
        from app.orgs.models import Organisation

        roles = seed_roles()
        orgs = seed_orgs()
        units = [o for o in orgs.values() if o.kind in ("district", "street")]
        rng = random.Random(5)
        rows = [
            {
                "login": f"p{i:05d}",
                "name": f"人员{i}",
                "org_id": rng.choice(units).id,
                "is_leader": i % 25 == 0,
                "status": "active",
                "password_hash": "x",
            }
            for i in range(args.people)
        ]
        db.session.execute(insert(User), rows)
        ids = dict(db.session.execute(select(User.login, User.id)).all())
        officer, leader = roles["district_officer"].id, roles["district_leader"].id
        db.session.execute(
            insert(user_roles),
            [{"user_id": ids[r["login"]], "role_id": leader if r["is_leader"] else officer} for r in rows],
        )
        viol = []
        for n in range(args.people):
            uid = ids[f"p{rng.randrange(args.people):05d}"]
            viol.append(
                {
                    "rule_code": "bench",
                    "category": "case",
                    "ref": f"b{n}",
                    "org_id": units[0].id,
                    "user_id": uid,
                    "summary": "基准",
                    "occurred_at": datetime(2026, 10, rng.randint(1, 28), tzinfo=SHANGHAI),
                    "evidence": {},
                    "status": "open",
                    "rule_version": 1,
                }
            )
        db.session.execute(insert(EffViolation), viol)
        city = db.session.scalar(select(Organisation).where(Organisation.code == "SHYJ"))
        admin = User(login="bench_admin", name="基准", org_id=city.id, password_hash="x")
        admin.roles = [db.session.get(Role, roles["section_chief"].id)]
        db.session.add(admin)
        db.session.commit()
        scheme = schemes.ensure_defaults()
        r = process.create_round(scheme, "2026-10", actor=admin, reviewers="bench_admin")
        db.session.commit()
        statements = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))
        t0 = time.perf_counter()
        n = compute.compute_round(r)
        db.session.commit()
        elapsed = time.perf_counter() - t0
        print(f"people={n} seconds={elapsed:.2f} per_person_ms={1000 * elapsed / max(n, 1):.2f} sql={len(statements)}")


if __name__ == "__main__":
    main()
