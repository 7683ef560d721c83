"""Versioned rule sets (案卷评查 checklists, 触发式监管 rules): a key (the case type, the rule code) has numbered
versions; an edit makes a draft, publishing it retires the version published before. Both modules keep their
own rules of what a draft may hold; the numbering and the publishing are these two functions."""

from __future__ import annotations

from sqlalchemy import func, select

from app.audit import services as audit
from app.errors import Conflict
from app.extensions import db
from app.models_base import utcnow


def next_version(model, key) -> int:
    """The number of a new version of ``key`` (a column condition such as ``Model.code == code``)."""
    return (db.session.scalar(select(func.max(model.version)).where(key)) or 0) + 1


def publish(row, key, *, actor, action: str, object_type: str, detail: dict, refusal: str):
    """Publish the draft ``row``: the published version of the same ``key`` is retired, ``row`` is published now,
    the act is audited; a row that is not a draft is refused (409, ``refusal``)."""
    if row.status != "draft":
        raise Conflict(refusal)
    model = type(row)
    for old in db.session.scalars(select(model).where(key, model.status == "published")):
        old.status = "retired"
    row.status, row.published_at = "published", utcnow()
    db.session.flush()
    audit.record(action, actor=actor, object_type=object_type, object_id=row.id, detail=detail)
    return row
