"""The session class of `db`: inside a replica scope (app/ops/replica.py) plain reads go to the replica.

Kept apart from app/ops/replica.py (health checks, metrics) because app/extensions.py imports it.
"""

from __future__ import annotations

from contextvars import ContextVar

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.sql import CompoundSelect, Select, TextClause

# The replica engine while a replica scope is active in this context (thread, request); None otherwise.
ACTIVE_REPLICA: ContextVar[Engine | None] = ContextVar("ducha_replica_engine", default=None)
_WROTE = "ducha.replica.wrote"


def _is_plain_read(clause) -> bool:
    if isinstance(clause, Select | CompoundSelect):
        return getattr(clause, "_for_update_arg", None) is None
    if isinstance(clause, TextClause):
        head = clause.text.lstrip()[:6].upper()
        return head in ("SELECT", "WITH") and "FOR UPDATE" not in clause.text.upper()
    return False


class RoutingSession(FlaskSession):
    """Flask-SQLAlchemy's session, sending plain reads inside a replica scope to the replica engine."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None:
            # Autoflush runs before get_bind: pending changes were flushed, and after_flush marked the write.
            if clause is None or not _is_plain_read(clause):
                self.info[_WROTE] = True  # a write, a flush or a locking read: later reads need the primary
            elif not self.info.get(_WROTE):
                replica = ACTIVE_REPLICA.get()
                if replica is not None:
                    return replica
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


@event.listens_for(RoutingSession, "after_flush")
def _after_flush(session, flush_context) -> None:
    session.info[_WROTE] = True  # this transaction wrote (inside a replica scope or before it)


@event.listens_for(RoutingSession, "after_transaction_end")
def _after_transaction_end(session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction: commit or rollback
        session.info.pop(_WROTE, None)
