"""案卷评查 automatic checks benchmark (R2.5.1): prints figures.

    .venv/bin/python bench/cases_checks.py [--cases 20000]

Runs every automatic check of the default 一般程序 rule table (three deadlines on the real working-day
calendar, documents, 一案双罚, 裁量基准 with the penalty text parsed) over hand-made in-memory cases, the
work `check_case` does per case page and per 发起评查, without the database."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.cases import rules
from app.cases.models import Case, CaseDocument, CaseParty, CaseViolation
from app.engine.calendar import default_calendar
from app.knowledge.models import KnowledgeEntry

PENALTIES = [
    ("第九十七条", "责令限期改正，处十万元以下罚款；逾期未改正责令停产停业整顿，并处十万元以上二十万元以下罚款"),
    ("第九十四条", "责令限期改正，处二万元以上五万元以下罚款；逾期未改正处五万元以上十万元以下罚款"),
    ("第九十九条", "责令限期改正，处五万元以下罚款；逾期未改正处五万元以上二十万元以下罚款"),
]


def make_cases(n: int, rng: random.Random) -> list[Case]:
    entries = [
        KnowledgeEntry(
            library="violation", fields={"law": "中华人民共和国安全生产法", "article": a, "penalty_range": p}
        )
        for a, p in PENALTIES
    ]
    docs = rules.DEFAULTS["general"]["limits"]["required_docs"]
    out = []
    for i in range(n):
        c = Case(number=f"B{i}", title="bench", case_type="general")
        found = date(2026, 1, 1) + timedelta(days=rng.randint(0, 300))
        c.discovered_on, c.filed_on = found, found + timedelta(days=rng.randint(1, 12))
        c.decided_on = c.filed_on + timedelta(days=rng.randint(20, 100))
        c.served_on = c.decided_on + timedelta(days=rng.randint(0, 10))
        c.parties.append(CaseParty(kind="unit", name="单位", penalty_yuan=rng.randint(1, 30) * 10000))
        if rng.random() < 0.7:
            c.parties.append(CaseParty(kind="person", name="个人", penalty_yuan=rng.randint(5, 30) * 1000))
        c.violations.append(CaseViolation(entry=rng.choice(entries)))
        for d in rng.sample(docs, rng.randint(3, len(docs))):
            c.documents.append(CaseDocument(doc_type=d, filename=d, content_type=""))
        out.append(c)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=20_000)
    args = p.parse_args(argv)
    rng = random.Random(5)
    cases = make_cases(args.cases, rng)
    limits = rules.DEFAULTS["general"]["limits"]
    calendar = default_calendar()
    today = date(2026, 12, 1)
    times, failed = [], 0
    start = time.perf_counter()
    for c in cases:
        t0 = time.perf_counter()
        results = rules.run_checks(c, limits, today=today, calendar=calendar)
        times.append(time.perf_counter() - t0)
        failed += sum(not r.passed for r in results.values())
    total = time.perf_counter() - start
    times.sort()
    print(f"cases checked          {len(cases):>10,}")
    print(f"total                  {total:>10.2f} s  ({len(cases) / total:,.0f} cases/s)")
    print(f"per case median        {statistics.median(times) * 1e6:>10.0f} µs")
    print(f"per case p95           {times[int(len(times) * 0.95)] * 1e6:>10.0f} µs")
    print(f"failed checks          {failed:>10,}  ({failed / len(cases):.2f} per case)")


if __name__ == "__main__":
    main()
