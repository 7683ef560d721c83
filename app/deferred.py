"""Append-only rows written at commit instead of at the act's flush (the instance history).

An act appends history rows (`instance_events`) that nothing in its transaction reads back by id. On
PostgreSQL they are inserted at commit in the same statement as the audit chain's entries
(`app.audit.services._seal`): one statement fewer per act. Where no audit entry is sealed they are
inserted in one statement of their own at commit (`_write`).

What the transaction reads still sees them: a query of the session that names a table with queued rows
inserts them first (`_before_query`). A rollback drops them with the rest of the work. Rows queued inside a
savepoint (`begin_nested`) are not deferred: the caller adds them to the session as before, so a
savepoint's rollback still takes them back.
"""

from __future__ import annotations

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.util import find_tables

KEY = "ducha.deferred_rows"


def defer(session: Session, table: Table, row: dict) -> bool:
    """Queue `row` for `table` until commit; False (not queued) inside a savepoint."""
    if session.in_nested_transaction():
        return False
    _install()
    session.info.setdefault(KEY, []).append((table, row))
    return True


def pending(session: Session) -> bool:
    return bool(session.info.get(KEY))


def take(session: Session) -> dict[Table, list[dict]]:
    """The queued rows by table, in the order they were queued; the queue is emptied."""
    out: dict[Table, list[dict]] = {}
    for table, row in session.info.pop(KEY, None) or ():
        out.setdefault(table, []).append(row)
    return out


def write(session: Session, queued: dict[Table, list[dict]] | None = None) -> None:
    """Insert the queued rows now (or `queued`, taken before): one statement per table and set of columns."""
    for table, rows in (take(session) if queued is None else queued).items():
        by_columns: dict[tuple, list[dict]] = {}
        for row in rows:  # a multi-row VALUES takes its columns from the first row: group rows that differ
            by_columns.setdefault(tuple(row), []).append(row)
        for group in by_columns.values():  # one row: a cached statement; several: one INSERT
            session.execute(insert(table).values(**group[0]) if len(group) == 1 else insert(table).values(group))


def _write(session: Session) -> None:
    if pending(session):
        write(session)


def _before_query(state) -> None:
    queued = state.session.info.get(KEY)
    if not queued or state.is_insert:
        return
    tables = {table for table, _row in queued}
    named = {m.local_table for m in state.all_mappers}
    if not named & tables:  # joins, subqueries, columns, UPDATE and DELETE targets
        named.update(find_tables(state.statement, check_columns=True, include_joins=True, include_crud=True))
    if named & tables:
        write(state.session)


def _on_transaction_end(session: Session, transaction) -> None:
    """The top-level transaction ended (committed, or rolled back: the rows go with it); a savepoint's end
    keeps the rows queued before it."""
    if transaction.parent is None and not transaction.nested:
        session.info.pop(KEY, None)


def _install() -> None:
    if not event.contains(Session, "before_commit", _write):
        event.listen(Session, "before_commit", _write)
        event.listen(Session, "do_orm_execute", _before_query)
        event.listen(Session, "after_transaction_end", _on_transaction_end)
