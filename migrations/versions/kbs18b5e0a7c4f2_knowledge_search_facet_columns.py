"""knowledge search: the entry's library, status, year, district and industries copied onto knowledge_search

A search's match, filters and facet GROUP BY then read knowledge_search alone, without joining
knowledge_entries for every matched row (docs/performance.md "Knowledge search, sixth round"). Triggers keep
the copy equal to the entry whatever writes it (the ORM, Core, an import, SQL by hand): a new search row takes
its entry's values, and a change to one of the five columns of an entry is written to its search row.

Revision ID: kbs18b5e0a7c4f2
Revises: kbs17f4c3d2e1
Create Date: 2026-12-02 21:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "kbs18b5e0a7c4f2"
down_revision = "kbs17f4c3d2e1"
branch_labels = None
depends_on = None

COLUMNS = ("library", "status", "year", "district_code", "industries")

# EXECUTE PROCEDURE: the spelling PostgreSQL, KingbaseES and openGauss all accept (docs/xinchuang.md).
PG_FUNCTIONS = """
CREATE FUNCTION knowledge_search_copy_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT e.library, e.status, e.year, e.district_code, e.industries::text
      INTO NEW.library, NEW.status, NEW.year, NEW.district_code, NEW.industries
      FROM knowledge_entries e WHERE e.id = NEW.entry_id;
    RETURN NEW;
END $$;
CREATE TRIGGER knowledge_search_copy_entry BEFORE INSERT OR UPDATE OF entry_id ON knowledge_search
    FOR EACH ROW EXECUTE PROCEDURE knowledge_search_copy_entry();
CREATE FUNCTION knowledge_entries_to_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE knowledge_search SET library = NEW.library, status = NEW.status, year = NEW.year,
           district_code = NEW.district_code, industries = NEW.industries::text
     WHERE entry_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER knowledge_entries_to_search AFTER UPDATE OF library, status, year, district_code, industries
    ON knowledge_entries FOR EACH ROW
    WHEN (OLD.library IS DISTINCT FROM NEW.library OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.year IS DISTINCT FROM NEW.year OR OLD.district_code IS DISTINCT FROM NEW.district_code
          OR OLD.industries::text IS DISTINCT FROM NEW.industries::text)
    EXECUTE PROCEDURE knowledge_entries_to_search();
"""

# SQLite: a new search row takes its entry's values after the insert (a BEFORE trigger cannot set NEW); the FTS5
# update trigger now fires only when the tokens are written, not when the copied columns are.
SQLITE_TRIGGERS = (
    "CREATE TRIGGER knowledge_search_copy_entry AFTER INSERT ON knowledge_search BEGIN "
    "UPDATE knowledge_search SET (library, status, year, district_code, industries) = "
    "(SELECT e.library, e.status, e.year, e.district_code, e.industries FROM knowledge_entries e "
    "WHERE e.id = new.entry_id) WHERE entry_id = new.entry_id; END",
    "CREATE TRIGGER knowledge_entries_to_search AFTER UPDATE OF library, status, year, district_code, industries "
    "ON knowledge_entries BEGIN "
    "UPDATE knowledge_search SET library = new.library, status = new.status, year = new.year, "
    "district_code = new.district_code, industries = new.industries WHERE entry_id = new.id; END",
)
FTS_UPDATE = (
    "CREATE TRIGGER knowledge_search_au AFTER UPDATE {of}ON knowledge_search BEGIN "
    "INSERT INTO knowledge_fts(knowledge_fts, rowid, tokens) VALUES ('delete', old.entry_id, old.tokens); "
    "INSERT INTO knowledge_fts(rowid, tokens) VALUES (new.entry_id, new.tokens); END"
)


def upgrade():
    bind = op.get_bind()
    for name, kind in (
        ("library", sa.String(16)),
        ("status", sa.String(12)),
        ("year", sa.Integer()),
        ("district_code", sa.String(16)),
        ("industries", sa.Text()),
    ):
        op.add_column("knowledge_search", sa.Column(name, kind, nullable=True))
    if bind.dialect.name == "postgresql":
        # The long values (tokens, head, tsv) out of line: the rows the match walks (every entry holding the words,
        # thousands for common words) become ~100 bytes instead of ~1.8 kB, so the table a search reads fits in
        # shared buffers; the head is read from TOAST for the ranked candidates only. The backfill below writes
        # every row again, which moves them (rows holding an out-of-line value are toasted to this target).
        if bind.dialect.server_version_info >= (11,):  # toast_tuple_target is PostgreSQL 11+ (not openGauss)
            op.execute("ALTER TABLE knowledge_search SET (toast_tuple_target = 128)")
            op.execute("ALTER TABLE knowledge_search ALTER COLUMN head SET STORAGE EXTERNAL")
        op.execute(
            "UPDATE knowledge_search s SET library = e.library, status = e.status, year = e.year, "
            "district_code = e.district_code, industries = e.industries::text "
            "FROM knowledge_entries e WHERE e.id = s.entry_id"
        )
        op.execute(PG_FUNCTIONS)
    else:
        op.execute("DROP TRIGGER IF EXISTS knowledge_search_au")
        op.execute(FTS_UPDATE.format(of="OF tokens "))
        op.execute(
            "UPDATE knowledge_search SET (library, status, year, district_code, industries) = "
            "(SELECT e.library, e.status, e.year, e.district_code, e.industries FROM knowledge_entries e "
            "WHERE e.id = knowledge_search.entry_id)"
        )
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS knowledge_entries_to_search ON knowledge_entries")
        op.execute("DROP TRIGGER IF EXISTS knowledge_search_copy_entry ON knowledge_search")
        op.execute("DROP FUNCTION IF EXISTS knowledge_entries_to_search()")
        op.execute("DROP FUNCTION IF EXISTS knowledge_search_copy_entry()")
        for name in COLUMNS:
            op.drop_column("knowledge_search", name)
        if bind.dialect.server_version_info >= (11,):
            op.execute("ALTER TABLE knowledge_search ALTER COLUMN head SET STORAGE EXTENDED")
            op.execute("ALTER TABLE knowledge_search RESET (toast_tuple_target)")
    else:
        for name in ("knowledge_entries_to_search", "knowledge_search_copy_entry", "knowledge_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for name in COLUMNS:
            op.execute(f"ALTER TABLE knowledge_search DROP COLUMN {name}")
        op.execute(FTS_UPDATE.format(of=""))
