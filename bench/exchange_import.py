"""Streamed import benchmark (issue 22): a CSV of N inspection rows (default 1,000,000) in the 统一综合执法
系统's shape, imported through `app.exchange.bulk.import_csv` (read row by row, checked against the data
standard, upserted in chunks that each commit). Prints the time, the rate and the peak memory (max RSS),
then imports the same file again: the second pass must change nothing (idempotence at scale).

    .venv/bin/python bench/exchange_import.py [--rows 1000000] [--chunk 2000] [--database-url URL --reset]
        [--once]

Peak memory is the process's maximum resident set size (getrusage); the file itself is never loaded whole.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import describe_url, ensure_database, make_app, prepare_database

FIELDS = [
    "id",
    "version",
    "changed_at",
    "party_credit_code",
    "party_name",
    "inspected_on",
    "inspector",
    "result",
    "district_code",
]
RESULTS = ("未发现问题", "责令整改", "立案查处")
DISTRICTS = ("310101", "310104", "310105", "310106")


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_csv(path: Path, rows: int) -> None:
    from app.exchange.fakes.data import credit_code

    codes = [credit_code(n) for n in range(1, 5001)]
    base = datetime.now(UTC) - timedelta(days=2)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(FIELDS)
        for n in range(rows):
            at = base + timedelta(seconds=n % 86400)
            out.writerow(
                [
                    f"JC{n:08d}",
                    1,
                    at.isoformat(timespec="seconds"),
                    codes[n % 5000],
                    f"上海基准{n % 5000:04d}有限公司",
                    at.date().isoformat(),
                    "基准执法员",
                    RESULTS[n % 3],
                    DISTRICTS[n % 4],
                ]
            )
            if n % 9973 == 0:  # a few bad rows, kept as rejects with their reasons
                out.writerow(
                    [f"BAD{n:08d}", 1, at.isoformat(), "not-a-code", "", at.date().isoformat(), "", "复查", "999"]
                )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--chunk", type=int, default=2000)
    p.add_argument("--database-url", default=None)
    p.add_argument("--reset", action="store_true")
    p.add_argument("--once", action="store_true", help="skip the second (idempotence) pass")
    args = p.parse_args(argv)
    ensure_database(args.database_url)
    app = make_app(args.database_url)
    with app.app_context():
        from app.demo.reference import seed_orgs, seed_roles
        from app.exchange.bulk import import_csv
        from app.extensions import db

        prepare_database(reset=args.reset)
        seed_roles()
        seed_orgs(districts=4, streets_per_district=1)
        db.session.commit()
        print(f"database: {describe_url(db.engine.url)}")
        path = Path(tempfile.mkdtemp(prefix="ducha-exchange-")) / "inspections.csv"
        t0 = time.perf_counter()
        write_csv(path, args.rows)
        print(
            f"wrote {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s;"
            f" max RSS so far {rss_mb():.0f} MB"
        )
        passes = 1 if args.once else 2
        for n in range(passes):
            t0, c0 = time.perf_counter(), cpu_s()
            run = import_csv(path, "zhzf", "inspection", chunk=args.chunk)
            took, cpu = time.perf_counter() - t0, cpu_s() - c0
            print(
                f"pass {n + 1}: {run.fetched:,} rows in {took:.1f} s ({run.fetched / took:,.0f} rows/s,"
                f" CPU {cpu:.1f} s); inserted {run.inserted:,}, updated {run.updated:,},"
                f" unchanged {run.unchanged:,}, rejected {run.rejected:,};"
                f" max RSS {rss_mb():.0f} MB"
            )
        path.unlink()


if __name__ == "__main__":
    main()
