"""Run callables after the current database transaction commits, or after it rolls back.

Used for effects outside the database that must follow the transaction's fate: start a
background job only once its row (and the rows it reads) are committed; remove a file written
for a transaction that rolled back; remove a replaced file once the replacement is committed.
Hooks live in `session.info`, so they belong to one session and one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger(__name__)

_COMMIT = "ducha.after_commit"
_ROLLBACK = "ducha.after_rollback"


def after_commit(fn: Callable[[], None]) -> None:
    """Call `fn` once the current transaction of `db.session` has committed (never if it rolls back)."""
    _install()
    db.session().info.setdefault(_COMMIT, []).append(fn)


def after_rollback(fn: Callable[[], None]) -> None:
    """Call `fn` if the current transaction of `db.session` rolls back (never if it commits)."""
    _install()
    db.session().info.setdefault(_ROLLBACK, []).append(fn)


def _run(hooks: list[Callable[[], None]]) -> None:
    for fn in hooks:
        try:
            fn()
        except Exception:  # one failing hook must not stop the others, nor the request
            log.exception("transaction hook %r failed", fn)


def _on_commit(session: Session) -> None:
    session.info.pop(_ROLLBACK, None)
    _run(session.info.pop(_COMMIT, []))


def _on_transaction_end(session: Session, transaction) -> None:
    # The outermost transaction ended without committing: rolled back, or the session was
    # closed (e.g. removed at the end of a request that never committed).
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_COMMIT, None)
        _run(session.info.pop(_ROLLBACK, []))


def _install() -> None:
    if not event.contains(Session, "after_commit", _on_commit):
        event.listen(Session, "after_commit", _on_commit)
        event.listen(Session, "after_transaction_end", _on_transaction_end)
