"""Search across the three libraries: the database finds candidates (PostgreSQL tsvector + GIN, SQLite
FTS5, over the same token string) and both rank them by the same score (textsearch.rank), so both databases
give the same results in the same order. Required words first (AND); when that finds few, any word (OR).
Facets count every entry holding all the words.

Costs (bench/knowledge_search.py, docs/performance.md "Knowledge search, fourth round"): the tsquery goes to
PostgreSQL as a literal so every search gets a plan for its own words (see _match); ranking counts in the token
strings (textsearch.rank) and only the page's entries are scored word by word for highlighting; facets are one
GROUP BY over the match. The match, the filters and the facets read knowledge_search alone: it holds a copy of
each entry's library, status, year, district and industries, kept by database triggers (sixth round). The
ranked ids and the facets of a search are kept per process under the index state token (KnowledgeIndexState,
written anew by every change to the entries or synonyms), so a repeated search reads only its page; segmented
queries are kept per process until the synonyms change.
Ranking in SQL with string functions was measured and is slower than in Python (see the performance doc).
"""

from __future__ import annotations

import json
import threading
import uuid
from array import array
from collections import Counter, OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

from flask import current_app
from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    bindparam,
    event,
    exists,
    func,
    inspect,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session, load_only

from app.extensions import db
from app.knowledge import textsearch as ts
from app.knowledge.models import (
    KnowledgeEntry,
    KnowledgeIndexState,
    KnowledgeIndustry,
    KnowledgeSearch,
    KnowledgeSynonym,
)

# Candidates ranked per search: when more entries hold every word, the newest CANDIDATES are ranked (the same
# cut on both databases; the app's KNOWLEDGE_SEARCH_CANDIDATES, this when unset). Ranking reads
# `knowledge_search.head`: the title and the start of the body. Fetching and ranking the heads is most of a cold
# search's CPU, in proportion to their number (docs/performance.md "Knowledge search, fifth round").
CANDIDATES = 300
OR_CANDIDATES = 300  # per word when few entries hold every word
OR_TOTAL = 1000  # at most, all words together
FEW = 30
PARSED_KEEP = 2000  # segmented queries kept per process
_lock = threading.Lock()
_cache: dict = {"parsed": OrderedDict(), "results": OrderedDict()}
# What a change to any of these rows can change in a search (helpful marks and usage counts change nothing).
_INDEXED = (KnowledgeEntry, KnowledgeSearch, KnowledgeIndustry, KnowledgeSynonym)
_ENTRY_FIELDS = ("library", "status", "year", "district_code", "industries", "org_id")
_PAGE_FIELDS = (
    KnowledgeEntry.library,
    KnowledgeEntry.code,
    KnowledgeEntry.title,
    KnowledgeEntry.summary,
    KnowledgeEntry.fields,
    KnowledgeEntry.status,
    KnowledgeEntry.year,
    KnowledgeEntry.district_code,
    KnowledgeEntry.helpful_count,
)


@dataclass
class Filters:
    library: str = ""
    industry: str = ""
    year: int | None = None
    district: str = ""

    @classmethod
    def from_args(cls, args) -> Filters:
        year = args.get("year", "")
        return cls(
            library=args.get("library", "") or "",
            industry=args.get("industry", "") or "",
            year=int(year) if str(year).isdigit() else None,
            district=args.get("district", "") or "",
        )

    def clauses(self, of=KnowledgeEntry) -> list:
        """The conditions on `of`: KnowledgeEntry, or KnowledgeSearch (its copy of the entry's fields: a
        search reads that table alone)."""
        entry_id = KnowledgeSearch.entry_id if of is KnowledgeSearch else KnowledgeEntry.id
        out = []
        if self.library:
            out.append(of.library == self.library)
        if self.year:
            out.append(of.year == self.year)
        if self.district:
            out.append(of.district_code == self.district)
        if self.industry:
            out.append(
                exists().where(KnowledgeIndustry.entry_id == entry_id, KnowledgeIndustry.industry == self.industry)
            )
        return out


@dataclass
class Hit:
    entry_id: int
    score: float
    terms: list[str]
    entry: KnowledgeEntry | None = None


@dataclass
class Result:
    query: ts.Query
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    facets: dict[str, Counter] = field(default_factory=dict)

    def snippet(self, hit: Hit):
        e = hit.entry
        body = e.summary or (e.fields or {}).get("description") or (e.fields or {}).get("facts") or ""
        return ts.snippet(body, hit.terms)

    def title(self, hit: Hit):
        return ts.highlight(hit.entry.title, hit.terms)


def synonym_map() -> dict[str, list[str]]:
    """Word -> its synonyms (normalised), built again only when the synonym table changed; the tokenizer learns
    the words (jieba's dictionary is per process, so each process builds its own)."""
    rows = tuple(db.session.execute(select(KnowledgeSynonym.id, KnowledgeSynonym.words).order_by(KnowledgeSynonym.id)))
    with _lock:
        if _cache.get("synonym_rows") == rows:
            return _cache["synonyms"]
    out: dict[str, list[str]] = {}
    all_words = []
    for _, words in rows:
        group = KnowledgeSynonym.split(words)
        all_words += group
        for w in group:
            out.setdefault(ts.normalize(w), [])
            out[ts.normalize(w)] += [ts.normalize(x) for x in group if x != w and x not in out[ts.normalize(w)]]
    ts.add_words(all_words)
    with _lock:
        _cache.update(synonym_rows=rows, synonyms=out, parsed=OrderedDict())
    return out


def parse(q: str) -> ts.Query:
    """The segmented query (jieba, typo correction, synonyms), kept per text until the synonyms change.
    The Query returned is shared: read it, do not change it."""
    synonyms = synonym_map()
    key = q.strip()
    with _lock:
        parsed = _cache["parsed"]
        if key in parsed:
            parsed.move_to_end(key)
            return parsed[key]
    query = ts.parse(key, synonyms)
    with _lock:
        parsed[key] = query
        while len(parsed) > PARSED_KEEP:
            parsed.popitem(last=False)
    return query


def _match(groups: list[ts.Group]):
    """The condition that an entry's tokens match all groups (each group: any variant)."""
    if db.engine.dialect.name == "postgresql":
        # The tsquery as a literal, not a parameter: with a parameter, the generic plan PostgreSQL adopts once
        # psycopg prepares the statement (after 5 runs) cannot see how common the words are, and may walk the
        # primary key backwards testing every row (seconds on 100,000 entries). With the literal each search is
        # planned for its words: the GIN index for rare words, the newest rows first for common ones. A
        # literal_execute parameter: rendered as a literal when the statement runs, so SQLAlchemy compiles the
        # statement once for all queries instead of once per query.
        return text("knowledge_search.tsv @@ CAST(:kq AS tsquery)").bindparams(
            bindparam("kq", ts.tsquery_expression(groups), type_=String, literal_execute=True)
        )
    match = text("SELECT rowid FROM knowledge_fts WHERE knowledge_fts MATCH :kq").bindparams(
        kq=ts.fts5_expression(groups)
    )
    return KnowledgeSearch.entry_id.in_(match)


def _rank_in_python(query: ts.Query, heads: dict[int, str]) -> list[tuple[int, float]]:
    """(entry id, score) of the candidates that score, best first, then by id."""
    scored = zip(heads, ts.rank_many(query, heads.values()), strict=True)
    return sorted(((i, v) for i, v in scored if v > 0), key=lambda x: (-x[1], x[0]))


def candidates() -> int:
    """How many of the newest entries holding every word are ranked."""
    return max(FEW, int(current_app.config.get("KNOWLEDGE_SEARCH_CANDIDATES", CANDIDATES)))


def _facet_columns():
    return (KnowledgeSearch.library, KnowledgeSearch.year, KnowledgeSearch.district_code, KnowledgeSearch.industries)


def _candidates(groups, where, limit: int) -> dict[int, tuple]:
    """The newest `limit` entries matching: entry id -> (head, library, year, district, industries)."""
    stmt = (
        select(KnowledgeSearch.entry_id, KnowledgeSearch.head, *_facet_columns())
        .where(_match(groups), *where)
        .order_by(KnowledgeSearch.entry_id.desc())
        .limit(limit)
    )
    return {entry_id: tuple(rest) for entry_id, *rest in db.session.execute(stmt).all()}


@dataclass
class Ranked:
    """The outcome of one search before its page: the entries that score, best first (ids and scores in arrays:
    small to keep), whether the any-word fallback found them, and the facets once counted."""

    ids: array
    scores: array
    fallback: bool
    facets: dict[str, Counter] | None = None


def search(
    q: str,
    filters: Filters | None = None,
    *,
    statuses: tuple[str, ...] = ("published",),
    libraries: tuple[str, ...] = (),
    limit: int = 20,
    offset: int = 0,
    facets: bool = True,
) -> Result:
    filters = filters or Filters()
    query = parse(q)
    result = Result(query=query)
    if query.empty:
        return result
    # On knowledge_search alone: it holds a copy of the entry's fields that the filters and facets read
    where = [KnowledgeSearch.status.in_(statuses), *filters.clauses(KnowledgeSearch)]
    if libraries:
        where.append(KnowledgeSearch.library.in_(libraries))
    required = [g for g in query.groups if g.required]
    key = (
        tuple((tuple(g.variants), g.weight, g.required, g.prefix) for g in query.groups),
        tuple(statuses),
        tuple(libraries),
        (filters.library, filters.industry, filters.year, filters.district),
    )
    keep = current_app.config.get("KNOWLEDGE_SEARCH_KEEP", 500)  # ranked searches kept per process
    token = index_token() if keep > 0 else None  # read before the rows it stands for
    ranked = _kept(key, token)
    if ranked is None:
        ranked = _rank(query, required, where, facets)
        _keep(key, token, ranked, keep)
    result.total = len(ranked.ids)
    if facets and result.total:
        if ranked.facets is None:  # counted once per kept search (two threads may both count: the same result)
            ranked.facets = _facets_of(list(ranked.ids)) if ranked.fallback else _facets(required, where)
        result.facets = ranked.facets
        if not ranked.fallback:
            result.total = max(result.total, sum(result.facets["library"].values()))
    window = slice(offset, offset + limit)
    page = [Hit(i, v, []) for i, v in zip(ranked.ids[window], ranked.scores[window], strict=True)]
    if page:
        rows = db.session.execute(
            select(KnowledgeEntry, KnowledgeSearch.head)
            .join(KnowledgeSearch, KnowledgeSearch.entry_id == KnowledgeEntry.id)
            .where(KnowledgeEntry.id.in_([h.entry_id for h in page]))
            .options(load_only(*_PAGE_FIELDS))  # what a results page shows; any other field loads when read
        )
        entries = {e.id: (e, head) for e, head in rows}
        for h in page:
            h.entry, head = entries[h.entry_id]
            h.terms = ts.score(query, head)[1]  # the words to highlight
    result.hits = page
    return result


def _rank(query: ts.Query, required: list[ts.Group], where: list, facets: bool) -> Ranked:
    """Candidates from the index (the newest CANDIDATES holding every required word; when fewer than FEW, also
    those with any real word), ranked in Python by textsearch.rank; with `facets`, the candidates and the facets
    come from one statement that walks the index match once."""
    counted = None
    limit = candidates()
    if facets:
        found, counted = _candidates_and_facets(required, where, limit)
    else:
        found = _candidates(required, where, limit)
    fallback = len(found) < FEW and len(query.groups) > 1
    if fallback:  # few with every word: also those with any real word
        for g in query.groups:
            if g.weight >= 1 and len(found) < OR_TOTAL:
                for entry_id, row in _candidates([g], where, OR_CANDIDATES).items():
                    found.setdefault(entry_id, row)
    scored = _rank_in_python(query, {entry_id: row[0] for entry_id, row in found.items()})
    ids, scores = array("q", (i for i, _ in scored)), array("d", (v for _, v in scored))
    if fallback and facets:  # counted over the ranked candidates, from the fields fetched with their heads
        counted = _count_facets(found[i][1:] for i in ids)
    return Ranked(ids, scores, fallback, counted)


def _kept(key, token: str | None) -> Ranked | None:
    if token is None:
        return None
    with _lock:
        kept = _cache["results"].get(key)
        if kept is None or kept[0] != token:
            return None
        _cache["results"].move_to_end(key)
        return kept[1]


def _keep(key, token: str | None, ranked: Ranked, keep: int) -> None:
    """Kept per process under the index state token: a repeated search (popular queries repeat, the library
    changes rarely) reads the page's entries instead of ranking and counting again."""
    if token is None:
        return
    with _lock:
        _cache["results"][key] = (token, ranked)
        _cache["results"].move_to_end(key)
        while len(_cache["results"]) > keep:
            _cache["results"].popitem(last=False)


def _matched(groups: list[ts.Group], where: list):
    """The entries holding all the words, with what the facets count, from knowledge_search alone (its copy of
    the entry's library, year, district and industries, kept by triggers). Industries are the entry's own list
    (from which reindex writes the knowledge_industries rows the filter uses; a test holds the facets equal to a
    count over those rows), so the match is walked once."""
    return select(
        KnowledgeSearch.entry_id,
        KnowledgeSearch.library,
        KnowledgeSearch.year,
        KnowledgeSearch.district_code,
        KnowledgeSearch.industries,
    ).where(_match(groups), *where)


def _facet_rows(m) -> Select:
    return select(m.c.library, m.c.year, m.c.district_code, m.c.industries, func.count().label("n")).group_by(
        m.c.library, m.c.year, m.c.district_code, m.c.industries
    )


def _add_facets(out: dict[str, Counter], library, year, district, industries, n) -> None:
    out["library"][library] += n
    if year:
        out["year"][year] += n
    if district:
        out["district"][district] += n
    for industry in _industry_set(industries):
        out["industry"][industry] += n


@lru_cache(maxsize=4096)
def _industry_set(industries: str | None) -> frozenset:
    """The industries of an entry's JSON list (few distinct lists: decoded once per process)."""
    return frozenset(json.loads(industries or "[]") or [])


def _no_facets() -> dict[str, Counter]:
    return {"library": Counter(), "industry": Counter(), "year": Counter(), "district": Counter()}


def _facets(groups: list[ts.Group], where: list) -> dict[str, Counter]:
    """Counts by library, industry, year and district of every entry holding all the words: a GROUP BY over the
    index match, not capped by CANDIDATES."""
    out = _no_facets()
    with _by_the_index():
        rows = db.session.execute(_facet_rows(_matched(groups, where).subquery("m"))).all()
    for row in rows:
        _add_facets(out, *row)
    return out


@contextmanager
def _by_the_index():
    """PostgreSQL: the statements inside walk every entry matching (facets) through the GIN index, even for a
    word most entries hold. knowledge_search's rows are narrow, so for such a word the planner prefers a
    sequential scan, which reads (detoasts) every row's tsvector: 725 ms against 82 ms for 安全 (82% of
    100,000 entries). SET LOCAL: for this transaction only, put back after the statements."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    yield  # on an error the transaction is rolled back, and the setting with it
    db.session.execute(text("SET LOCAL enable_seqscan = on"))


def _candidates_and_facets(
    groups: list[ts.Group], where: list, limit: int
) -> tuple[dict[int, tuple], dict[str, Counter]]:
    """_candidates and _facets in one statement: the match (narrow rows) is walked once into a CTE, whose newest
    CANDIDATES rows fetch their heads (with their facet fields, as _candidates gives them) and whose GROUP BY
    gives the facets (rows told apart by `kind`)."""
    m = _matched(groups, where).cte("m")
    newest = select(m.c.entry_id).order_by(m.c.entry_id.desc()).limit(limit).subquery("newest")
    none_s, none_i = literal(None, String), literal(None, Integer)
    heads = select(
        literal("c").label("kind"),
        KnowledgeSearch.entry_id,
        KnowledgeSearch.head,
        *_facet_columns(),
        none_i.label("n"),
    ).join(newest, newest.c.entry_id == KnowledgeSearch.entry_id)
    f = _facet_rows(m).subquery("f")
    counts = select(literal("f"), none_i, none_s, f.c.library, f.c.year, f.c.district_code, f.c.industries, f.c.n)
    found: dict[int, tuple] = {}
    out = _no_facets()
    with _by_the_index():
        rows = db.session.execute(union_all(heads, counts)).all()
    for kind, entry_id, head, *facet in rows:
        if kind == "c":
            found[entry_id] = (head, *facet[:4])
        else:
            _add_facets(out, *facet)
    return found, out


def index_token() -> str | None:
    """The index state token now (None when the row is missing: nothing is kept then)."""
    return db.session.scalar(select(KnowledgeIndexState.token).where(KnowledgeIndexState.id == 1))


def mark_changed(session: Session, flush_context, instances) -> None:
    """before_flush: a new index state token when an entry, its search row or industries, or a synonym is
    added or deleted, or changed (an entry: a field a search filters or counts by), so that kept facets are
    counted again. Helpful marks and usage counts leave it alone."""
    changed = any(isinstance(o, _INDEXED) for group in (session.new, session.deleted) for o in group)
    for obj in () if changed else session.dirty:
        if isinstance(obj, KnowledgeEntry):
            state = inspect(obj)
            changed = any(state.attrs[a].history.has_changes() for a in _ENTRY_FIELDS)
        elif isinstance(obj, _INDEXED):
            changed = session.is_modified(obj)
        if changed:
            break
    if not changed:
        return
    with session.no_autoflush:
        row = session.get(KnowledgeIndexState, 1)
    if row is None:
        session.add(KnowledgeIndexState(id=1, token=uuid.uuid4().hex))
    else:
        row.token = uuid.uuid4().hex


def install() -> None:
    if not event.contains(Session, "before_flush", mark_changed):
        event.listen(Session, "before_flush", mark_changed)


def _count_facets(rows) -> dict[str, Counter]:
    """Counts over (library, year, district, industries) rows, one per entry."""
    out = _no_facets()
    for library, year, district, industries in rows:
        _add_facets(out, library, year, district, industries, 1)
    return out


def _facets_of(ids: list[int]) -> dict[str, Counter]:
    """Counts by library, industry, year and district over the ranked candidates (any-word searches), from
    knowledge_search's copy of the entries' fields."""
    rows = []
    for start in range(0, len(ids), 900):
        part = ids[start : start + 900]
        rows += db.session.execute(select(*_facet_columns()).where(KnowledgeSearch.entry_id.in_(part))).all()
    return _count_facets(rows)


def browse_facets(where: list) -> dict[str, Counter]:
    """Facets of a list without a query (GROUP BY in the database)."""
    out = {}
    for key, col in (
        ("library", KnowledgeEntry.library),
        ("year", KnowledgeEntry.year),
        ("district", KnowledgeEntry.district_code),
    ):
        rows = db.session.execute(select(col, func.count()).where(*where, col.is_not(None)).group_by(col).order_by(col))
        out[key] = Counter(dict(rows.all()))
    rows = db.session.execute(
        select(KnowledgeIndustry.industry, func.count())
        .join(KnowledgeEntry, KnowledgeEntry.id == KnowledgeIndustry.entry_id)
        .where(*where)
        .group_by(KnowledgeIndustry.industry)
    )
    out["industry"] = Counter(dict(rows.all()))
    return out


def suggest(text_typed: str, limit: int = 5) -> list[dict]:
    """The picker: top violations and guides for the text an officer types, with the article."""
    res = search(text_typed, libraries=("violation", "guide"), limit=limit, facets=False)
    return [
        {
            "id": h.entry.id,
            "title": h.entry.title,
            "library": h.entry.library_label,
            "article": h.entry.article_label,
            "penalty": (h.entry.fields or {}).get("penalty_range", ""),
            "url": f"/knowledge/entries/{h.entry.id}",
        }
        for h in res.hits
    ]


def visible_clause(scope):
    """Published entries for everyone; drafts and entries under review inside the user's data scope."""
    return or_(KnowledgeEntry.status == "published", and_(scope.org_clause(KnowledgeEntry.org_id)))
