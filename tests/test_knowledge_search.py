"""知识智库 search: quality on a fixed corpus (the demo libraries) with hand-written queries, and the same
ranked results on SQLite (FTS5) and PostgreSQL (tsvector + GIN) — the suite runs on either."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.knowledge import search
from tests.conftest import user

# query -> a title (or part of one) expected among the top 5. Kinds: plain, synonym, pinyin/initials, typo.
QUERIES = [
    ("有限空间作业 审批 现场安全管理", "有限空间作业：危险作业未安排专门人员现场安全管理"),
    ("受限空间 危险作业 专人监护", "有限空间作业：危险作业未安排专门人员现场安全管理"),  # synonym
    ("明火作业 现场安全管理", "危险作业未安排专门人员现场安全管理"),  # synonym of 动火
    ("动火作业 没有专人管理", "危险作业未安排专门人员现场安全管理"),
    ("特种作业人员无证上岗", "特种作业人员未持证上岗"),
    ("特种作业 持证", "特种作业人员未持证上岗"),
    ("tzzy", "特种作业人员未持证上岗"),  # initials of 特种作业
    ("tezhongzuoye", "特种作业人员未持证上岗"),  # full pinyin
    ("疏散通道 锁闭", "占用锁闭封堵疏散通道和安全出口"),
    ("安全出口被封堵", "占用锁闭封堵疏散通道和安全出口"),
    ("sstd", "疏散通道"),  # initials of 疏散通道
    ("员工宿舍 仓库 同一建筑", "危险物品车间仓库与员工宿舍在同一建筑内"),
    ("劳动防护用品不合格", "未提供符合标准的劳动防护用品"),
    ("劳动防户用品", "未提供符合标准的劳动防护用品"),  # typo: 户 for 护
    ("应急预案 演练", "演练"),
    ("应急预按", "应急预案"),  # typo: 按 for 案
    ("重大危险源 登记建档", "重大危险源未登记建档和监控"),
    ("重大危险原", "重大危险源"),  # typo: 原 for 源
    ("zdwxy", "重大危险源"),  # initials
    ("安全培训 记录", "未如实记录安全生产教育和培训情况"),
    ("三级安全教育", "安全生产教育"),  # synonym of 安全培训 / 安全生产教育和培训
    ("安全生产责任保险", "高危行业未投保安全生产责任保险"),
    ("事故隐患 未消除", "未采取措施消除事故隐患"),
    ("事故引患排查", "事故隐患"),  # typo: 引 for 隐
    ("可燃气体报警 餐饮 燃气", "餐饮等行业使用燃气未安装可燃气体报警装置"),
    ("拒绝监督检查", "拒绝阻碍依法实施的监督检查"),
    ("承包单位 安全生产管理协议", "未与承包承租单位签订安全生产管理协议"),
    ("液氨制冷 应急预案", "涉氨制冷"),
    ("粉尘涉爆 安全警示标志", "粉尘涉爆：未设置明显的安全警示标志"),
    ("粉尘 合规指引", "粉尘涉爆企业"),
    ("事故迟报 谎报", "事故发生后主要负责人不立即组织抢救或迟报谎报"),
    ("有限空间 典型案例", "有限空间作业企业"),
]
THRESHOLD = 0.85
EXPECTED_TOP5 = ["AL-011", "WF-03011", "WF-05011", "WF-06011", "WF-07011"]


@pytest.fixture
def corpus(app):
    with app.app_context():
        from app.demo.knowledge import seed_knowledge

        n = seed_knowledge(user("chief"))
        db.session.commit()
        assert n >= 300 + 50 + 30
        yield


def test_search_quality_precision_at_5(app, corpus):
    with app.app_context():
        found, misses = 0, []
        for q, expected in QUERIES:
            titles = [h.entry.title for h in search.search(q, limit=5).hits]
            if any(expected in t for t in titles):
                found += 1
            else:
                misses.append((q, expected, titles))
        precision = found / len(QUERIES)
        print(
            f"\nknowledge search: {found}/{len(QUERIES)} queries with the expected entry in the top 5 "
            f"(precision@5 {precision:.2f}, threshold {THRESHOLD})"
        )
        for miss in misses:
            print("  miss:", miss)
        assert precision >= THRESHOLD, misses


def test_same_ranked_results_on_either_database(app, corpus):
    """The database only finds candidates; Python ranks them with a total order (score, then id), so
    SQLite FTS5 and PostgreSQL tsvector give this exact list. The suite runs this on both in CI."""
    with app.app_context():
        res = search.search("特种作业人员无证上岗", limit=5)
        codes = [h.entry.code for h in res.hits]
        print("\nbackend:", db.engine.dialect.name, codes)
        # the case of the same violation first (its title holds every word), then violations by score and id
        assert codes == EXPECTED_TOP5, codes
        assert res.total == search.search("特种作业人员无证上岗", limit=50).total
        # pinyin prefix and synonyms go through the same two backends
        assert [h.entry.code for h in search.search("tzzy", limit=3).hits] == ["WF-01011", "WF-03011", "WF-04011"]
        hits = search.search("明火作业", limit=10).hits
        # the synonym finds every 动火作业 entry (8 violations + 1 case) before any entry matching only 作业
        assert (
            len(hits) == 10
            and all("动火作业" in h.entry.tags for h in hits[:9])
            and "动火作业" not in hits[9].entry.tags
        )
        facets = search.search("有限空间", limit=5).facets
        assert facets["library"]["violation"] >= 42 and facets["library"]["case"] >= 1
        assert facets["industry"]["YXKJ"] >= 42


def test_fast_rank_equals_the_full_score_on_every_entry(app, corpus):
    """Ranking counts in the token string (textsearch.rank); the page's words come from textsearch.score: the
    two give the same number for every entry and query, so the order is the one score() defines."""
    from app.knowledge import textsearch as ts
    from app.knowledge.models import KnowledgeSearch

    with app.app_context():
        heads = [h for (h,) in db.session.execute(db.select(KnowledgeSearch.head))]
        queries = [q for q, _ in QUERIES] + ["qq", "q", "zy", "作业 zy", "安全 安全 安全"]
        for q in queries:
            query = search.parse(q)
            adjacent = f"安全 安全 安全 作业 {ts.SEP} 作业 作业 作业 作业 zy"  # a token right after itself
            for head in [*heads, "", ts.SEP, f"作业 zuoye zy {ts.SEP} 作业 作业 zuoye zy zy", adjacent]:
                assert ts.rank(query, head) == ts.score(query, head)[0], (q, head[:80])


def test_parsed_query_cached_until_the_synonyms_change(app, corpus):
    from app.knowledge.models import KnowledgeSynonym

    with app.app_context():
        first = search.parse("密闭舱室作业")
        assert search.parse("密闭舱室作业") is first
        assert not any("船舱清洗" in g.variants for g in first.groups)
        db.session.add(KnowledgeSynonym(words="密闭舱室作业，船舱清洗"))
        db.session.flush()
        again = search.parse("密闭舱室作业")
        assert again is not first and any("船舱清洗" in g.variants for g in again.groups)


def test_a_synonym_with_quotes_does_not_break_the_search(app, corpus):
    from app.knowledge.models import KnowledgeSynonym

    with app.app_context():
        db.session.add(KnowledgeSynonym(words="""特种作业，it's"a\\b"""))
        db.session.flush()
        res = search.search("特种作业人员无证上岗", limit=5)
        assert [h.entry.code for h in res.hits] == EXPECTED_TOP5
        search.search("""it's"a\\b""")  # quoted into the tsquery / FTS5 expression: no database error


def test_facets_equal_a_count_over_the_entries_and_industry_rows(app, corpus):
    """The facets come from one GROUP BY that reads each entry's own industry list; they must equal a
    brute-force count over the entries found and their knowledge_industries rows (what the filter uses)."""
    from collections import Counter

    from app.knowledge.models import KnowledgeEntry, KnowledgeIndustry, KnowledgeSearch

    with app.app_context():
        for q in ("有限空间", "作业", "应急预案 演练", "tzzy"):
            query = search.parse(q)
            groups = [g for g in query.groups if g.required]
            where = [KnowledgeEntry.status.in_(("published",))]
            found = (
                db.select(KnowledgeEntry.id)
                .join(KnowledgeSearch, KnowledgeSearch.entry_id == KnowledgeEntry.id)
                .where(search._match(groups), *where)
            )
            ids = list(db.session.scalars(found))
            entries = db.session.scalars(db.select(KnowledgeEntry).where(KnowledgeEntry.id.in_(ids))).all()
            rows = db.session.execute(
                db.select(KnowledgeIndustry.industry).where(KnowledgeIndustry.entry_id.in_(ids))
            ).scalars()
            expected = {
                "library": Counter(e.library for e in entries),
                "year": Counter(e.year for e in entries if e.year),
                "district": Counter(e.district_code for e in entries if e.district_code),
                "industry": Counter(rows),
            }
            # the search reads knowledge_search alone (its copy of the entry's fields); the count above, the entries
            copied = [KnowledgeSearch.status.in_(("published",))]
            assert ids and search._facets(groups, copied) == expected, q
            if len(ids) >= search.FEW:  # fewer: the any-word fallback counts over its ranked candidates instead
                assert search.search(q).facets == expected, q


def test_any_word_facets_equal_a_count_over_the_ranked_entries(app, corpus):
    """When few entries hold every word, the any-word fallback counts its facets over the ranked candidates (from
    knowledge_search's copy of the fields, fetched with the heads); they must equal a count over those entries and
    their knowledge_industries rows, with the facets counted cold or for a kept ranking."""
    from collections import Counter

    from app.knowledge.models import KnowledgeEntry, KnowledgeIndustry, KnowledgeSearch

    with app.app_context():
        query = search.parse("有限空间 拒绝监督检查 液氨制冷")
        required = [g for g in query.groups if g.required]
        ranked = search._rank(query, required, [KnowledgeSearch.status.in_(("published",))], True)
        ids = list(ranked.ids)
        assert ranked.fallback and len(ids) > search.FEW
        entries = db.session.scalars(db.select(KnowledgeEntry).where(KnowledgeEntry.id.in_(ids))).all()
        rows = db.session.scalars(db.select(KnowledgeIndustry.industry).where(KnowledgeIndustry.entry_id.in_(ids)))
        expected = {
            "library": Counter(e.library for e in entries),
            "year": Counter(e.year for e in entries if e.year),
            "district": Counter(e.district_code for e in entries if e.district_code),
            "industry": Counter(rows),
        }
        assert ranked.facets == expected == search._facets_of(ids)
        assert search.search("有限空间 拒绝监督检查 液氨制冷").facets == expected


def test_kept_searches_are_ranked_again_after_a_change(app, corpus):
    """Ranked ids and facets are kept per process under the index state token; publishing (any change to an
    entry's library, status, year, district or industries) and a synonym change write a new token, so the next
    search ranks and counts again."""
    from app.knowledge.models import KnowledgeEntry, KnowledgeSynonym

    with app.app_context():
        first = search.search("有限空间").facets
        token = search.index_token()
        assert token and search.search("有限空间").facets is first  # kept: the same object, no GROUP BY
        entry = db.session.scalar(db.select(KnowledgeEntry).where(KnowledgeEntry.library == "violation").limit(1))
        entry.helpful_count += 1  # a helpful mark changes nothing that is searched
        db.session.flush()
        assert search.index_token() == token
        # an entry about 有限空间 leaves the published list: counted again, one fewer
        gone = db.session.scalar(
            db.select(KnowledgeEntry).where(
                KnowledgeEntry.title.contains("有限空间"), KnowledgeEntry.status == "published"
            )
        )
        gone.status = "draft"
        db.session.flush()
        assert search.index_token() != token
        again = search.search("有限空间").facets
        assert again is not first
        assert sum(again["library"].values()) == sum(first["library"].values()) - 1
        token = search.index_token()
        db.session.add(KnowledgeSynonym(words="有限空间，狭小空间"))
        db.session.flush()
        assert search.index_token() != token


def test_one_search_on_the_database_takes_few_statements(app, corpus):
    """Round trips of one search with facets: synonyms, index token, candidates and facets (one statement; on
    PostgreSQL between two SET LOCAL), the page's entries and heads; a repeated search reads the kept ranking
    and facets: synonyms, index token, page."""
    from sqlalchemy import event

    with app.app_context():
        search.search("有限空间")  # warm: parsed query
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            search._cache["results"].clear()
            search.search("有限空间")
            cold = len(seen)
            seen.clear()
            search.search("有限空间")
            warm = len(seen)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        print(f"\n{db.engine.dialect.name}: {cold} statements per search, {warm} when kept")
        # PostgreSQL: the candidates and facets statement between SET LOCAL enable_seqscan off and on again
        assert (cold, warm) == ((6 if db.engine.dialect.name == "postgresql" else 4), 3), seen


def test_a_kept_search_gives_what_a_cold_one_gives(app, corpus, monkeypatch):
    """Every page, the total and the facets of a repeated (kept) search equal those of a search with nothing kept."""
    with app.app_context():

        def outcome(q, filters=None):
            pages = [search.search(q, filters, limit=7, offset=o) for o in (0, 7, 14)]
            return [[(h.entry.code, h.score, h.terms) for h in r.hits] for r in pages], pages[0].total, pages[0].facets

        cases = [
            ("作业", None),
            ("有限空间", search.Filters(library="violation")),
            ("应急预案 演练", None),
            ("tzzy", None),
        ]
        kept = [outcome(q, f) for q, f in cases]
        again = [outcome(q, f) for q, f in cases]  # from the kept rankings
        monkeypatch.setitem(app.config, "KNOWLEDGE_SEARCH_KEEP", 0)
        cold = [outcome(q, f) for q, f in cases]
        assert kept == again == cold
        assert all(pages[0] for pages, _, _ in cold) and cold[1][0][0] != cold[0][0][0]


def test_only_the_newest_candidates_are_ranked_and_the_total_counts_all(app, corpus, monkeypatch):
    """KNOWLEDGE_SEARCH_CANDIDATES caps the entries ranked (the newest holding every word, on both databases);
    the total and the facets still count every entry found, and a cap under FEW is raised to FEW (the any-word
    fallback must not start because of the cap)."""
    from app.knowledge.models import KnowledgeEntry, KnowledgeSearch

    with app.app_context():
        monkeypatch.setitem(app.config, "KNOWLEDGE_SEARCH_KEEP", 0)
        query = search.parse("作业")
        groups = [g for g in query.groups if g.required]
        found = (
            db.select(KnowledgeEntry.id)
            .join(KnowledgeSearch, KnowledgeSearch.entry_id == KnowledgeEntry.id)
            .where(search._match(groups), KnowledgeEntry.status == "published")
        )
        ids = sorted(db.session.scalars(found), reverse=True)
        assert len(ids) > 3 * search.FEW
        full = search.search("作业", limit=len(ids))
        monkeypatch.setitem(app.config, "KNOWLEDGE_SEARCH_CANDIDATES", 1)  # raised to FEW
        assert search.candidates() == search.FEW
        capped = search.search("作业", limit=len(ids))
        ranked = {h.entry_id for h in capped.hits}
        assert ranked and ranked <= set(ids[: search.FEW])  # only the newest FEW
        assert len(capped.hits) < len(full.hits)
        assert capped.total == full.total == len(ids) and capped.facets == full.facets
        # the capped ranking is the full ranking restricted to those candidates
        assert [h.entry_id for h in full.hits if h.entry_id in ranked] == [h.entry_id for h in capped.hits]


def _entry_fields() -> tuple[dict, dict]:
    """(from knowledge_entries, from knowledge_search's copy): entry id -> library, status, year, district,
    industries; read with SQL, not from objects in the session."""
    import json

    from app.knowledge.models import KnowledgeEntry, KnowledgeSearch

    e, s = KnowledgeEntry, KnowledgeSearch
    entries = {
        i: (lib, st, y, d, list(ind or []))
        for i, lib, st, y, d, ind in db.session.execute(
            db.select(e.id, e.library, e.status, e.year, e.district_code, e.industries)
        )
    }
    copies = {
        i: (lib, st, y, d, json.loads(ind) if ind is not None else None)
        for i, lib, st, y, d, ind in db.session.execute(
            db.select(s.entry_id, s.library, s.status, s.year, s.district_code, s.industries)
        )
    }
    return entries, copies


def test_search_rows_keep_the_entry_fields_a_search_reads(app, corpus):
    """knowledge_search holds a copy of each entry's library, status, year, district and industries (the search
    reads that table alone), kept by triggers through an edit, a status change, a Core UPDATE and a new entry."""
    from app.enterprises.reference import districts, industries
    from app.knowledge import services
    from app.knowledge.models import KnowledgeEntry

    with app.app_context():
        entries, copies = _entry_fields()
        assert entries and copies == entries
        chief = user("chief")
        entry = db.session.scalar(
            db.select(KnowledgeEntry).where(KnowledgeEntry.library == "case", KnowledgeEntry.status == "published")
        )
        others = [c for c in industries() if c not in (entry.industries or [])][:2]
        district = next(c for c in districts() if c != entry.district_code)
        data = {"title": entry.title, "summary": entry.summary, **(entry.fields or {}), "tags": entry.tags}
        services.update_entry(entry, chief, {**data, "industries": others, "district_code": district, "year": 2001})
        db.session.flush()
        entries, copies = _entry_fields()
        assert copies[entry.id] == ("case", "draft", 2001, district, others) and copies == entries
        found = search.search(entry.title, search.Filters(year=2001, district=district), statuses=("draft",))
        assert entry.id in [h.entry_id for h in found.hits]
        assert entry.id in [
            h.entry_id for h in search.search(entry.title, search.Filters(industry=others[1]), statuses=("draft",)).hits
        ]
        assert entry.id not in [h.entry_id for h in search.search(entry.title, limit=100).hits]  # not published
        entry.status = "published"
        db.session.flush()
        assert _entry_fields()[1][entry.id][1] == "published"
        assert entry.id in [h.entry_id for h in search.search(entry.title, limit=100).hits]
        db.session.execute(
            db.update(KnowledgeEntry)
            .where(KnowledgeEntry.id == entry.id)
            .values(library="guide", district_code=None, industries=[])
        )
        assert _entry_fields()[1][entry.id] == ("guide", "published", 2001, None, [])
        new = services.create_entry(
            chief, "case", {**data, "title": "新的典型案例条目", "year": 2024, "industries": others}, status="published"
        )
        db.session.flush()
        entries, copies = _entry_fields()
        assert copies[new.id] == ("case", "published", 2024, None, others) and copies == entries
        db.session.rollback()


def test_the_migration_fills_the_copy_of_the_entry_fields(app, corpus):
    """The migration that adds the copied columns fills them from the entries (down to the revision before it,
    an entry changed meanwhile, up again), and its triggers work after it."""
    import logging

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    from app.knowledge.models import KnowledgeEntry

    loggers = {n: g.disabled for n, g in logging.root.manager.loggerDict.items() if isinstance(g, logging.Logger)}
    with app.app_context():
        db.session.commit()
        db.session.close()
        downgrade(revision="kbs17f4c3d2e1")
        try:
            assert "library" not in {c["name"] for c in inspect(db.engine).get_columns("knowledge_search")}
            entry_id = db.session.scalar(db.select(KnowledgeEntry.id).order_by(KnowledgeEntry.id.desc()).limit(1))
            db.session.execute(
                db.update(KnowledgeEntry)
                .where(KnowledgeEntry.id == entry_id)
                .values(year=1999, status="review", industries=["C26", "G54"])
            )
            db.session.commit()
            db.session.close()
        finally:
            upgrade()
            for name, disabled in loggers.items():  # alembic's fileConfig disables the loggers it does not name
                logging.getLogger(name).disabled = disabled
        entries, copies = _entry_fields()
        assert copies[entry_id][1:3] == ("review", 1999) and copies[entry_id][4] == ["C26", "G54"]
        assert copies == entries
        db.session.execute(db.update(KnowledgeEntry).where(KnowledgeEntry.id == entry_id).values(year=2002))
        assert _entry_fields()[1][entry_id][2] == 2002
        db.session.commit()
