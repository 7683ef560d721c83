"""信创: the SQL the app and its migrations send stays inside what openGauss and KingbaseES (in their
PostgreSQL-compatible modes) accept. docs/xinchuang.md explains each rule and each exception.

Each rule is a pattern over app/**/*.py (not the built front end) and migrations/versions/*.py. A rule's
exceptions name the files allowed to use it, each written up in docs/xinchuang.md; an exception that no
longer matches fails too, so the document does not go stale.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "xinchuang.md"

# name -> (pattern, files allowed to use it)
RULES: dict[str, tuple[str, set[str]]] = {
    "ON CONFLICT (upsert)": (r"\bON\s+CONFLICT\b|on_conflict_do_", set()),
    "PostgreSQL-only column types (JSONB, ARRAY, INET, TSVECTOR, UUID type)": (
        r"\bJSONB\b|sa\.ARRAY\b|postgresql\.(ARRAY|JSONB|INET|CIDR|TSVECTOR|UUID|HSTORE)|\bHSTORE\b",
        set(),
    ),
    "the postgresql dialect module": (r"sqlalchemy\.dialects\.postgresql|dialects import postgresql", set()),
    "JSON operators": (r"->>|#>>|@>|<@|\bjsonb_\w+\(|\bjson_extract_path", set()),
    "LISTEN / NOTIFY": (r"\bLISTEN\b|\bNOTIFY\b|pg_notify", set()),
    "generated and identity columns": (
        r"GENERATED\s+(ALWAYS|BY\s+DEFAULT)|\bComputed\(|\bIdentity\(",
        {"migrations/versions/22c3d178d9ff_knowledge_base.py"},
    ),
    "DISTINCT ON": (r"DISTINCT\s+ON\b|(?<!func)\.distinct\(\s*[A-Za-z_]", set()),
    "LATERAL joins": (r"\bLATERAL\b|\.lateral\(", set()),
    "aggregate FILTER (WHERE ...)": (r"FILTER\s*\(\s*WHERE|aggregate_order_by|\.within_group\(", set()),
    "full-text search and trigram": (
        r"to_tsvector|to_tsquery|plainto_tsquery|\s@@\s|pg_trgm|gin_trgm_ops",
        {"app/knowledge/search.py", "app/knowledge/models.py", "migrations/versions/22c3d178d9ff_knowledge_base.py"},
    ),
    "PostgreSQL index and table options": (
        r"\bUNLOGGED\b|CONCURRENTLY|postgresql_(concurrently|include|using|where|ops|with)|NULLS\s+NOT\s+DISTINCT",
        set(),
    ),
    "EXCLUDE constraints": (r"EXCLUDE\s+USING|ExcludeConstraint", set()),
    "MERGE": (r"\bMERGE\s+INTO\b", set()),
    "advisory locks": (r"pg_advisory|advisory_lock|pg_try_advisory", set()),
    "PostgreSQL-only functions": (r"generate_series|gen_random_uuid|uuid_generate_v|\barray_agg\(|ARRAY\[", set()),
    # Exceptions, written up in docs/xinchuang.md:
    "SELECT ... FOR UPDATE SKIP LOCKED": (
        r"skip_locked\s*=\s*True|text\([^)]*SKIP\s+LOCKED",
        {"app/engine/timers.py", "app/reports/jobs.py"},
    ),
    "data-modifying CTE (WITH x AS (INSERT ... RETURNING))": (
        r"\.returning\([^)]*\)\.cte\(",
        {"app/audit/services.py"},
    ),
    "CREATE TRIGGER ... EXECUTE FUNCTION (PostgreSQL 11+ spelling)": (
        r"EXECUTE\s+FUNCTION",
        {"migrations/versions/1dc330063049_security_sessions_password_history_totp_.py"},
    ),
}


def _sources() -> dict[str, str]:
    files = [p for p in (ROOT / "app").rglob("*.py") if "static" not in p.parts]
    files += sorted((ROOT / "migrations" / "versions").glob("*.py"))
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in files}


def _code_lines(source: str):
    """Lines with comments stripped (a rule is about SQL sent, not prose about it)."""
    for number, line in enumerate(source.splitlines(), 1):
        code = line.split("#", 1)[0] if not line.lstrip().startswith(("'", '"')) else line
        yield number, code


def test_no_unportable_sql_outside_the_documented_exceptions():
    sources = _sources()
    found = []
    used: dict[str, set[str]] = {name: set() for name in RULES}
    for name, (pattern, allowed) in RULES.items():
        regex = re.compile(pattern)
        for path, source in sources.items():
            if not regex.search(source):
                continue
            for number, line in _code_lines(source):
                if regex.search(line):
                    used[name].add(path)
                    if path not in allowed:
                        found.append(f"{path}:{number}: {name}: {line.strip()}")
    assert not found, "SQL that openGauss / KingbaseES may refuse (see docs/xinchuang.md):\n" + "\n".join(found)
    stale = {name: allowed - used[name] for name, (_p, allowed) in RULES.items() if allowed - used[name]}
    assert not stale, f"exceptions that no longer apply: remove them here and in docs/xinchuang.md: {stale}"


def test_every_rule_and_exception_is_documented():
    doc = DOC.read_text(encoding="utf-8")
    for name, (_pattern, allowed) in RULES.items():
        assert name in doc, name
        for path in allowed:
            assert path in doc, path


def test_the_rules_catch_what_they_are_for():
    samples = {
        "ON CONFLICT (upsert)": "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING",
        "JSON operators": "SELECT detail->>'x' FROM audit_entries",
        "LISTEN / NOTIFY": "NOTIFY jobs",
        "DISTINCT ON": "select(Job).distinct(Job.kind)",
        "generated and identity columns": "sa.Column('id', sa.Integer(), sa.Identity())",
        "SELECT ... FOR UPDATE SKIP LOCKED": "stmt.with_for_update(skip_locked=True)",
    }
    for name, sample in samples.items():
        assert re.search(RULES[name][0], sample), name
    assert not re.search(RULES["DISTINCT ON"][0], "select(AuditEntry.action).distinct().order_by(x)")
    assert not re.search(RULES["DISTINCT ON"][0], "func.count(func.distinct(Enterprise.id))")  # COUNT(DISTINCT x)
