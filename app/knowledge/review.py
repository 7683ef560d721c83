"""The knowledge_review process's service tasks: publish an approved entry, send a rejected one back."""

from __future__ import annotations

from app.audit import services as audit
from app.engine.services import service
from app.errors import NotFound
from app.extensions import db
from app.knowledge.models import KnowledgeEntry, KnowledgeVersion
from app.models_base import utcnow


def _entry(data: dict) -> KnowledgeEntry:
    entry = db.session.get(KnowledgeEntry, int(data.get("entry_id") or 0))
    if entry is None:
        raise NotFound("流程关联的知识条目不存在")
    return entry


@service("knowledge.publish")
def publish(data: dict) -> str:
    entry = _entry(data)
    entry.status, entry.published_at, entry.return_reason = "published", utcnow(), None
    version = db.session.query(KnowledgeVersion).filter_by(entry_id=entry.id, number=entry.version).one_or_none()
    if version is not None:
        version.note = (version.note + "；审核通过并发布")[:300]
    audit.record("knowledge.publish", object_type="knowledge_entry", object_id=entry.id)
    return "published"


@service("knowledge.send_back")
def send_back(data: dict) -> str:
    entry = _entry(data)
    entry.status = "draft"
    entry.return_reason = (data.get("last_comment") or "审核未通过")[:500]
    return "draft"
