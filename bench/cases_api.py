"""案卷评查 list, API and export benchmark: N cases (two parties, a violation, two documents each) spread over
the 16 districts; a city account (every case in scope) and a district account (its own district) ask for the
case list (page 1, a late page, a keyword), one case over the API, and the XLSX export of the whole list
(direct, the threshold raised above N). Prints the median time and the SQL statements per request.

    .venv/bin/python bench/cases_api.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/ducha_bench_cases --reset [--cases 5000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PASSWORD = "Bench@Pass2026"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="案卷评查 list, API and export benchmark")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--reset", action="store_true", help="empty the (scratch) database first")
    p.add_argument("--cases", type=int, default=5000)
    p.add_argument("--repeat", type=int, default=15)
    args = p.parse_args(argv)
    if not args.database_url or not args.reset:
        sys.exit("give --database-url of a scratch database and --reset")

    from flask_migrate import upgrade
    from sqlalchemy import event, insert, select, text

    from app import create_app
    from app.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": args.database_url,
            "SCHEDULER_ENABLED": False,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "EXPORT_BACKGROUND_ROWS": args.cases + 1,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:
            db.drop_all()
        upgrade()
        from app.auth.services import create_user
        from app.cases.models import Case, CaseDocument, CaseParty, CaseViolation
        from app.demo.reference import seed_orgs, seed_roles
        from app.knowledge.models import KnowledgeEntry
        from app.orgs.models import Organisation

        seed_roles()
        orgs = seed_orgs()
        districts = sorted((o for o in orgs.values() if o.kind == "district"), key=lambda o: o.code)
        city = db.session.scalar(select(Organisation).where(Organisation.code == "SHYJ-ZH"))
        entry = KnowledgeEntry(
            library="violation", code="B-1", title="基准违法行为", status="published", org_id=city.id
        )
        db.session.add(entry)
        create_user(
            login="bench_city",
            name="市级",
            org=city,
            password=PASSWORD,
            roles=["section_chief"],
            must_change_password=False,
            check_policy=False,
        )
        create_user(
            login="bench_hp",
            name="区级",
            org=districts[0],
            password=PASSWORD,
            roles=["district_officer"],
            must_change_password=False,
            check_policy=False,
        )
        db.session.flush()
        rows = [
            {
                "number": f"沪应急罚〔2026〕{i}号",
                "title": f"基准案件{i} 未按规定开展安全培训",
                "case_type": "general" if i % 3 else "simple",
                "org_id": districts[i % len(districts)].id,
                "status": "open",
                "source": "manual",
                "facts": "",
            }
            for i in range(args.cases)
        ]
        db.session.execute(insert(Case), rows)
        ids = list(db.session.scalars(select(Case.id).order_by(Case.id)))
        db.session.execute(
            insert(CaseParty),
            [{"case_id": c, "kind": "unit", "name": f"单位{c}", "penalty_yuan": 50000} for c in ids]
            + [{"case_id": c, "kind": "person", "name": f"个人{c}", "penalty_yuan": 10000} for c in ids],
        )
        db.session.execute(insert(CaseViolation), [{"case_id": c, "entry_id": entry.id} for c in ids])
        db.session.execute(
            insert(CaseDocument),
            [
                {"case_id": c, "doc_type": t, "filename": f"{t}.pdf", "content_type": "application/pdf", "size": 1}
                for c in ids
                for t in ("filing_approval", "decision")
            ],
        )
        db.session.commit()
        sample = ids[len(ids) // 2]

    statements = [0]

    with app.app_context():

        @event.listens_for(db.engine, "before_cursor_execute")
        def _count(*_a, **_k):
            statements[0] += 1

    def measure(client, path: str) -> tuple[float, int, int]:
        times, counts, status = [], [], 0
        for _ in range(args.repeat):
            statements[0] = 0
            t0 = time.perf_counter()
            resp = client.get(path)
            times.append(time.perf_counter() - t0)
            counts.append(statements[0])
            status = resp.status_code
        return statistics.median(times) * 1000, int(statistics.median(counts)), status

    print(f"cases {args.cases:,} on {app.config['SQLALCHEMY_DATABASE_URI'].split(':', 1)[0]} (busy-machine figures)")
    print(f"{'who':<6} {'request':<44} {'median ms':>10} {'SQL':>5} {'status':>6}")
    for login in ("bench_city", "bench_hp"):
        client = app.test_client()
        assert client.post("/login", data={"login": login, "password": PASSWORD}).status_code == 302
        last = max(1, args.cases // 20 // (16 if login == "bench_hp" else 1))
        for path in (
            "/api/v1/cases",
            f"/api/v1/cases?page={last}",
            "/api/v1/cases?q=基准案件42",
            f"/api/v1/cases/{sample}" if login == "bench_city" else "/cases/",
            "/cases/export.xlsx",
        ):
            repeat = args.repeat
            if path.endswith(".xlsx"):
                args.repeat = 3
            ms, sql, status = measure(client, path)
            args.repeat = repeat
            print(f"{login[6:]:<6} {path:<44} {ms:>10.1f} {sql:>5} {status:>6}")


if __name__ == "__main__":
    main()
