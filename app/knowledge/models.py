"""知识智库: three libraries (违法行为库, 典型案例库, 合规指引) in one entry table, with versions, review,
tags, relations, attachments, usage records, "有帮助" marks, synonyms and the search token table.

The search index is `knowledge_search.tokens`: jieba tokens plus pinyin and initials, space separated,
computed in Python (app/knowledge/textsearch.py). PostgreSQL adds a generated `tsv` column
(`array_to_tsvector(string_to_array(tokens, ' '))`, GIN); SQLite an external-content FTS5 table
`knowledge_fts` kept in step by triggers. Both are created by the migration, not by the models.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, FetchedValue, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db
from app.models_base import UTCDateTime, utcnow
from app.orgs.models import Organisation

LIBRARIES = {"violation": "违法行为库", "case": "典型案例库", "guide": "合规指引"}
STATUSES = {"draft": "草稿", "review": "审核中", "published": "已发布"}
STATUS_COLOURS = {"draft": "secondary", "review": "warning", "published": "success"}


class KnowledgeEntry(db.Model):
    __tablename__ = "knowledge_entries"
    __table_args__ = (Index("ix_knowledge_entries_lib_status", "library", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    # Library-specific fields: violation {article, clause, law, penalty_range, tiers[{level, circumstance,
    # penalty}], related_laws}; case {facts, legal_basis, penalty}; guide {topic, html}.
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    industries: Mapped[list] = mapped_column(JSON, default=list)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    district_code: Mapped[str | None] = mapped_column(String(16), index=True)
    year: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    helpful_count: Mapped[int] = mapped_column(default=0)
    instance_id: Mapped[int | None] = mapped_column(index=True)
    return_reason: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    org: Mapped[Organisation] = relationship()
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])

    @property
    def library_label(self) -> str:
        return LIBRARIES.get(self.library, self.library)

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def article_label(self) -> str:
        f = self.fields or {}
        if self.library == "violation" and f.get("article"):
            return f"《{f.get('law', '')}》{f['article']}{f.get('clause') or ''}"
        if self.library == "case":
            return f.get("legal_basis", "")
        return f.get("topic", "")


class KnowledgeIndustry(db.Model):
    """One row per (entry, industry) so the industry facet is a GROUP BY."""

    __tablename__ = "knowledge_industries"

    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="CASCADE"), primary_key=True)
    industry: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)


class KnowledgeSearch(db.Model):
    __tablename__ = "knowledge_search"

    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="CASCADE"), primary_key=True)
    tokens: Mapped[str] = mapped_column(Text, default="")
    # The start of the tokens (title and the start of the body), which ranking reads: short, never TOASTed.
    head: Mapped[str] = mapped_column(String(1200), default="")
    # The entry's fields a search filters and counts by, copied here so that the match, the filters and the
    # facets read this table alone. Written by database triggers (migration kbs18b5e0a7c4f2), never by the app:
    # a new row takes its entry's values, a change to the entry's fields is written here. `industries` is the
    # entry's JSON list as text. Read them in SQL; on an object in the session they may be stale until expired.
    library: Mapped[str | None] = mapped_column(String(16), server_default=FetchedValue())
    status: Mapped[str | None] = mapped_column(String(12), server_default=FetchedValue())
    year: Mapped[int | None] = mapped_column(server_default=FetchedValue())
    district_code: Mapped[str | None] = mapped_column(String(16), server_default=FetchedValue())
    industries: Mapped[str | None] = mapped_column(Text, server_default=FetchedValue())


class KnowledgeIndexState(db.Model):
    """One row: a token written anew whenever an entry, its search row, its industries or a synonym is added,
    changed or deleted (app/knowledge/search.py, `mark_changed`). Kept searches (ranked ids, facets) carry
    the token they were computed under and are used only while it is the same, in every process. A random
    token, not a counter, so a database emptied and filled again never meets a token it had before."""

    __tablename__ = "knowledge_index_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


class KnowledgeVersion(db.Model):
    __tablename__ = "knowledge_versions"
    __table_args__ = (UniqueConstraint("entry_id", "number", name="uq_knowledge_versions_entry_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    snapshot: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(300), default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    changed_by: Mapped[User | None] = relationship()


class KnowledgeRelation(db.Model):
    __tablename__ = "knowledge_relations"

    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="CASCADE"), primary_key=True)
    related_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="CASCADE"), primary_key=True)


class KnowledgeAttachment(db.Model):
    __tablename__ = "knowledge_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    sm3: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(400))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def preview_kind(self) -> str:
        if self.content_type == "application/pdf":
            return "pdf"
        if self.content_type.startswith("image/"):
            return "image"
        if self.content_type.endswith("wordprocessingml.document"):
            return "docx"
        return ""


class KnowledgeUsage(db.Model):
    """Where an entry was used: the page (线索处理, 检查记录), the task or object, who and when."""

    __tablename__ = "knowledge_usages"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="CASCADE"), index=True)
    context: Mapped[str] = mapped_column(String(40))
    ref: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str | None] = mapped_column(String(300))
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    used_by: Mapped[User | None] = relationship()


class KnowledgeHelpful(db.Model):
    __tablename__ = "knowledge_helpful"

    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KnowledgeSynonym(db.Model):
    """A group of words that mean the same in a search (e.g. 动火作业, 明火作业, 热工作业)."""

    __tablename__ = "knowledge_synonyms"

    id: Mapped[int] = mapped_column(primary_key=True)
    words: Mapped[str] = mapped_column(String(500))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def word_list(self) -> list[str]:
        return self.split(self.words)

    @staticmethod
    def split(words: str) -> list[str]:
        return [w for w in (x.strip() for x in (words or "").replace("，", ",").split(",")) if w]
