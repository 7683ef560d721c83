"""Knowledge base search benchmark (R2.1.1): prints figures.

    .venv/bin/python bench/knowledge_search.py --database-url postgresql+psycopg://postgres@127.0.0.1/ducha_x \
        [--entries 100000] [--searchers 20] [--searches 40] [--reset | --reuse]

1. generates N published entries (violations, cases, guides) from the demo table of real articles crossed with
   industries, districts, years and phrases; the token strings are assembled from fragments segmented once by
   jieba (segmenting every entry is measured separately on a sample and extrapolated),
2. bulk insert, then the search index build: the GIN index on PostgreSQL (FTS5 on SQLite) and its size,
3. CPU per search (app + PostgreSQL backends) with one searcher, caches off,
4. N searchers at once (threads, each with its own connection), each running its queries through
   `app.knowledge.search.search` (candidates from the index, ranking, facets, page of 20): p50/p95/max and CPU
   per search, twice: "cold" with the per-process caches off (every search segments its query, ranks its
   candidates and counts its facets: the figure for queries never seen before) and "mix" with them on and the
   20 queries repeating (every search after the first of its query reads the kept ranking: the best case of
   popular queries, not a prediction; real traffic has a tail of new queries, which cost what "cold" costs).
Target (issue 17): p95 < 300 ms on 100,000 entries with 20 concurrent searchers on PostgreSQL.

Why threads and not HTTP through gunicorn: what decides whether the target can be met is the CPU one search
costs, app + database, which the bench prints and which does not depend on how the searchers are driven. On 2
cores, 20 closed-loop searchers without think time get p95 < 300 ms only when a search costs about 25 ms of CPU
in all. The threads share one interpreter lock, so the app part of 20 searches runs on one core at a time where
the deployed app (2 gunicorn workers x 4 threads) uses both: the threaded latencies are pessimistic for that
part. They also leave out what HTTP adds (session, permission checks, template rendering, the client's own
CPU on the same 2 cores), which makes them optimistic for the page. Read the latencies with that in mind, and
the CPU per search as the figure; the load test through gunicorn (bench/load.py) is where the whole page is
measured.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from bench.common import DbCpu, describe_url, make_app, prepare_database

QUERIES = [
    "有限空间作业 审批",
    "动火作业 现场安全管理",
    "明火作业",
    "特种作业人员无证上岗",
    "tzzy",
    "疏散通道 锁闭",
    "劳动防户用品",
    "应急预案 演练",
    "重大危险源",
    "zdwxy",
    "安全培训 记录",
    "粉尘涉爆 警示标志",
    "事故隐患 未消除",
    "安全生产责任保险",
    "液氨制冷 应急预案",
    "承包单位 安全生产管理协议",
    "可燃气体报警",
    "拒绝监督检查",
    "员工宿舍 仓库",
    "事故迟报 谎报",
]
PHRASES = [
    "现场检查发现",
    "作业人员未佩戴防护用品",
    "台账记录不完整",
    "整改不到位",
    "未建立管理制度",
    "审批手续缺失",
    "监护人员不在岗",
    "设备未定期检测",
    "警示标志缺失",
    "应急物资不足",
    "培训记录缺失",
    "风险辨识不全面",
    "承包单位资质不全",
    "通道堆放杂物",
    "报警装置失效",
    "操作规程未上墙",
    "安全投入不足",
    "隐患未闭环",
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--entries", type=int, default=100_000)
    p.add_argument("--searchers", type=int, default=20)
    p.add_argument("--searches", type=int, default=40, help="searches per searcher")
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--database-url", default=None)
    p.add_argument("--reset", action="store_true")
    p.add_argument("--reuse", action="store_true", help="search the entries a previous run left in the database")
    p.add_argument("--http", action="store_true", help="also search through HTTP: the app under gunicorn as deployed")
    p.add_argument("--port", type=int, default=7440, help="the port of the app for --http")
    return p.parse_args(argv)


def _fragments():
    from app.demo.knowledge import ARTICLES, INDUSTRIES
    from app.knowledge import textsearch as ts

    def tok(s):
        return ts.index_tokens("", s).replace(ts.SEP, "").strip()

    arts = [(a, c, t, s, p, tags, tok(t), tok(f"{s} {p} {tags}")) for a, c, t, s, p, tags in ARTICLES]
    inds = [(code, name, place, tok(f"{name} {place}")) for code, name, place in INDUSTRIES]
    phrases = [(x, tok(x)) for x in PHRASES]
    return arts, inds, phrases


def build(args, rng) -> dict:
    from app.demo.reference import seed_orgs, seed_roles
    from app.extensions import db
    from app.knowledge import textsearch as ts
    from app.knowledge.models import KnowledgeEntry, KnowledgeIndustry, KnowledgeSearch
    from app.models_base import utcnow

    seed_roles()
    orgs = seed_orgs(districts=16, streets_per_district=1)
    city = orgs["SHYJ"].id
    districts = [o.code for o in orgs.values() if o.kind == "district"]
    db.session.commit()
    arts, inds, phrases = _fragments()
    # jieba on whole entries, measured on a sample
    sample = 1000
    t0 = time.perf_counter()
    for i in range(sample):
        a, ind = arts[i % len(arts)], inds[i % len(inds)]
        ts.index_tokens(f"{ind[1]}：{a[2]}", f"{a[3]} {a[4]} {rng.choice(PHRASES)} {rng.choice(PHRASES)}")
    per_entry = (time.perf_counter() - t0) / sample
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        db.session.execute(text("DROP INDEX IF EXISTS ix_knowledge_search_tsv"))
        db.session.commit()
    now = utcnow()
    t0 = time.perf_counter()
    batch = 5000
    for start in range(0, args.entries, batch):
        entries, tokens, industries = [], [], []
        for i in range(start, min(start + batch, args.entries)):
            a, ind = arts[i % len(arts)], inds[(i // len(arts)) % len(inds)]
            library = ("violation", "violation", "case", "guide")[i % 4]
            extra = rng.sample(phrases, 3)
            title = f"{ind[1]}：{a[2]}（{i}）"
            entries.append(
                {
                    "id": i + 1,
                    "library": library,
                    "code": f"B-{i + 1:06d}",
                    "title": title,
                    "summary": f"{ind[1]}企业{ind[2]}{a[3]}；{'，'.join(x for x, _ in extra)}。",
                    "fields": {
                        "law": "中华人民共和国安全生产法",
                        "article": a[0],
                        "clause": a[1],
                        "penalty_range": a[4],
                    },
                    "industries": [ind[0]],
                    "tags": a[5].split(","),
                    "district_code": rng.choice(districts) if library == "case" else None,
                    "year": 2019 + i % 7,
                    "status": "published",
                    "org_id": city,
                    "version": 1,
                    "helpful_count": rng.randint(0, 20),
                    "created_at": now,
                    "updated_at": now,
                    "published_at": now,
                }
            )
            body = " ".join([a[7], ind[3], *(t for _, t in extra)])
            joined = f"{a[6]} {ind[3]} {ts.SEP} {body}"
            tokens.append({"entry_id": i + 1, "tokens": joined, "head": ts.head_of(joined)})
            industries.append({"entry_id": i + 1, "industry": ind[0]})
        db.session.execute(insert(KnowledgeEntry), entries)
        db.session.execute(insert(KnowledgeSearch), tokens)
        db.session.execute(insert(KnowledgeIndustry), industries)
        db.session.commit()
    insert_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    if dialect == "postgresql":
        db.session.execute(text("SELECT setval('knowledge_entries_id_seq', :n)"), {"n": args.entries})
        db.session.execute(text("CREATE INDEX ix_knowledge_search_tsv ON knowledge_search USING gin (tsv)"))
        db.session.execute(text("ANALYZE knowledge_search"))
        db.session.execute(text("ANALYZE knowledge_entries"))
        db.session.commit()
        index_s = time.perf_counter() - t0
        size = db.session.scalar(text("SELECT pg_relation_size('ix_knowledge_search_tsv')"))
        table = db.session.scalar(text("SELECT pg_total_relation_size('knowledge_search')"))
    else:  # FTS5 is filled by the triggers during the insert; rebuild to time it on its own
        db.session.execute(text("INSERT INTO knowledge_fts(knowledge_fts) VALUES ('rebuild')"))
        db.session.commit()
        index_s = time.perf_counter() - t0
        size = (
            db.session.scalar(text("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'knowledge_fts%'"))
            if _has_dbstat()
            else None
        )
        table = None
    return {
        "jieba_per_entry_ms": per_entry * 1000,
        "insert_s": insert_s,
        "index_s": index_s,
        "index_bytes": size,
        "table_bytes": table,
    }


def _has_dbstat() -> bool:
    from app.extensions import db

    try:
        db.session.execute(text("SELECT 1 FROM dbstat LIMIT 1"))
        return True
    except Exception:
        db.session.rollback()
        return False


def run_searchers(app, args) -> list[float]:
    from app.extensions import db
    from app.knowledge import search

    times: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    barrier = threading.Barrier(args.searchers)

    def worker(n: int):
        try:
            with app.app_context():
                rng = random.Random(n)
                search.search("预热")  # the tokenizer and the synonym words are loaded once per process
                barrier.wait()
                mine = []
                for _ in range(args.searches):
                    q = rng.choice(QUERIES)
                    t0 = time.perf_counter()
                    res = search.search(q, limit=20)
                    assert res.total >= 0
                    mine.append(time.perf_counter() - t0)
                    db.session.rollback()
                with lock:
                    times.extend(mine)
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.searchers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return times


def _report_build(args, built: dict) -> None:
    print(
        f"jieba + pinyin per entry (sample of 1,000): {built['jieba_per_entry_ms']:.2f} ms "
        f"→ about {built['jieba_per_entry_ms'] * args.entries / 1000:.0f} s for {args.entries:,} entries"
    )
    print(f"bulk insert of entries + tokens: {built['insert_s']:.1f} s")
    print(f"search index build: {built['index_s']:.1f} s")
    if built["index_bytes"]:
        print(f"index size: {built['index_bytes'] / 1024 / 1024:.1f} MB")
    if built["table_bytes"]:
        print(f"knowledge_search total (tokens + tsvector + index): {built['table_bytes'] / 1024 / 1024:.1f} MB")


def db_engine():
    from app.extensions import db

    return db.engine


def set_caches(app, on: bool) -> None:
    """Cold (off): every search segments its query, ranks and counts its facets; on: the per-process caches."""
    from app.knowledge import search
    from app.knowledge import textsearch as ts

    search.PARSED_KEEP, app.config["KNOWLEDGE_SEARCH_KEEP"] = (2000, 500) if on else (0, 0)
    with search._lock:
        search._cache["parsed"].clear()
        search._cache["results"].clear()
    ts._piece_words.cache_clear()


def _pcts(times: list[float]) -> str:
    times = sorted(times)
    return (
        f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {times[int(len(times) * 0.95) - 1] * 1000:.0f} ms, "
        f"max {times[-1] * 1000:.0f} ms"
    )


# --------------------------------------------------------------------------------------------- --http

HTTP_PASSWORD = "Bench@Search2026"


def http_users(app, n: int) -> list[str]:
    """N officers who may read the knowledge base (created once in the bench database)."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.auth.services import create_user
    from app.extensions import db
    from app.orgs.models import Organisation

    logins = [f"kbs_bench{i:02d}" for i in range(n)]
    with app.app_context():
        have = set(db.session.scalars(select(User.login).where(User.login.in_(logins))))
        org = db.session.scalar(select(Organisation).where(Organisation.code == "SHYJ"))
        for login in logins:
            if login not in have:
                create_user(
                    login=login,
                    name=f"检索{login[-2:]}",
                    org=org,
                    password=HTTP_PASSWORD,
                    roles=["district_officer"],
                    must_change_password=False,
                )
        db.session.commit()
    return logins


def run_http(args, logins: list[str], keep: int) -> tuple[list[float], int]:
    """The search page /knowledge/?q= through `python -m app.serve` (2 gunicorn workers x 4 threads, as
    deployed), one logged-in requests.Session per searcher thread; `keep` 0 = nothing kept (cold)."""
    import re

    import requests

    from bench.training_load import start_server, wait_ready

    csrf = re.compile(r'name="csrf_token" value="([^"]+)"')
    os.environ["DUCHA_KNOWLEDGE_SEARCH_KEEP"] = str(keep)
    log = Path(tempfile.mkdtemp(prefix="ducha-kbs-http-")) / "server.log"
    server = start_server(argparse.Namespace(port=args.port, database_url=args.database_url, workers=2), log)
    base = f"http://127.0.0.1:{args.port}"
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(logins))

    def worker(n: int, login: str):
        s = requests.Session()
        rng = random.Random(n)
        try:
            token = csrf.search(s.get(base + "/login").text).group(1)
            s.post(base + "/login", data={"login": login, "password": HTTP_PASSWORD, "csrf_token": token})
            for q in QUERIES[n % 3 :: 3][:2]:  # every worker process loads jieba before the clock starts
                s.get(base + "/knowledge/", params={"q": q + " 预热"})
        finally:
            barrier.wait()
        mine = []
        for _ in range(args.searches):
            t0 = time.perf_counter()
            r = s.get(base + "/knowledge/", params={"q": rng.choice(QUERIES)}, allow_redirects=False)
            mine.append(time.perf_counter() - t0)
            if r.status_code != 200 or 'id="facets"' not in r.text:
                errors.append(str(r.status_code))
        with lock:
            times.extend(mine)

    try:
        wait_ready(args.port, server)
        threads = [threading.Thread(target=worker, args=(n, login)) for n, login in enumerate(logins)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.terminate()
        server.wait(timeout=60)
        os.environ.pop("DUCHA_KNOWLEDGE_SEARCH_KEEP", None)
    return times, len(errors)


def main(argv=None) -> None:
    args = parse_args(argv)
    options = {"pool_pre_ping": False, "pool_size": args.searchers + 2} if args.database_url else {}
    app = make_app(args.database_url, SQLALCHEMY_ENGINE_OPTIONS=options or {"pool_pre_ping": False})
    rng = random.Random(args.seed)
    with app.app_context():
        print(f"database: {describe_url(args.database_url)}; entries: {args.entries:,}")
        load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
        print("load average before:", " ".join(load), f"on {os.cpu_count()} CPUs")
        if not args.reuse:
            prepare_database(reset=args.reset)
            built = build(args, rng)
        else:  # a database left by an older version of the benchmark gets the newer migrations
            from flask_migrate import upgrade

            upgrade()
    if not args.reuse:
        _report_build(args, built)
    with app.app_context():
        meter = DbCpu(db_engine())
        from app.knowledge import search

        search.search("预热")  # load the tokenizer before measuring
    set_caches(app, False)
    cpu0, db0 = time.process_time(), meter.seconds()
    one = run_searchers(app, argparse.Namespace(searchers=1, searches=len(QUERIES)))
    app_ms = (time.process_time() - cpu0) * 1000 / len(one)
    db_ms = (meter.seconds() - db0) * 1000 / len(one)
    print(f"cold (caches off), 1 searcher, {len(one)} searches one after another: {_pcts(one)}")
    # CPU per search hardly depends on what else the machine runs, unlike the latencies
    per = app_ms + db_ms
    print(
        f"cold CPU per search: app {app_ms:.1f} ms + database {db_ms:.1f} ms "
        f"→ at most {os.cpu_count() * 1000 / per:.0f} searches/s on {os.cpu_count()} idle CPUs"
    )
    figures = {}
    for label, caches in (("cold (caches off)", False), ("mix (caches on, the 20 queries repeat)", True)):
        set_caches(app, caches)
        cpu0, db0 = time.process_time(), meter.seconds()
        t0 = time.perf_counter()
        times = run_searchers(app, args)
        wall = time.perf_counter() - t0
        cpu = (time.process_time() - cpu0 + meter.seconds() - db0) * 1000 / len(times)
        times.sort()
        figures[label] = p95 = times[int(len(times) * 0.95) - 1] * 1000
        print(
            f"{label}: {args.searchers} searchers (threads of this process), {len(times)} searches in {wall:.1f} s: "
            f"{_pcts(times)} ({len(times) / wall:.1f} searches/s; CPU app + database {cpu:.1f} ms per search)"
        )
    if args.http:
        logins = http_users(app, args.searchers)
        for label, keep in (("HTTP cold (nothing kept)", 0), ("HTTP mix (kept, the 20 queries repeat)", 500)):
            t0 = time.perf_counter()
            times, errors = run_http(args, logins, keep)
            wall = time.perf_counter() - t0
            figures[label] = sorted(times)[int(len(times) * 0.95) - 1] * 1000
            print(
                f"{label}: {args.searchers} searchers, gunicorn 2 workers x 4 threads, {len(times)} pages of "
                f"/knowledge/?q=: {_pcts(times)}, {errors} errors ({wall:.0f} s with the server start)"
            )
    for label, p95 in figures.items():
        print(f"target p95 < 300 ms, {label}:", "met" if p95 < 300 else "NOT met")


if __name__ == "__main__":
    main()
