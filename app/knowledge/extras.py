"""Around an entry: "有帮助" marks, where it was used, attachments with a preview, the synonym table."""

from __future__ import annotations

import io
import secrets
import zipfile

import filetype
from cryptography.hazmat.primitives import hashes
from flask import current_app
from lxml import etree
from sqlalchemy import select

from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.knowledge.models import (
    KnowledgeAttachment,
    KnowledgeEntry,
    KnowledgeHelpful,
    KnowledgeSynonym,
    KnowledgeUsage,
)
from app.knowledge.services import check_edit
from app.models_base import utcnow
from app.security import uploads
from app.storage import files

ALLOWED = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/msword": ".doc",
}
CONTEXTS = {"clue_handle": "线索处理", "inspection": "检查记录", "case": "案卷", "manual": "手工引用"}


def mark_helpful(entry: KnowledgeEntry, actor) -> bool:
    """One mark per person; returns False when the person had already marked it."""
    if db.session.get(KnowledgeHelpful, (entry.id, actor.id)) is not None:
        return False
    db.session.add(KnowledgeHelpful(entry_id=entry.id, user_id=actor.id))
    entry.helpful_count = (entry.helpful_count or 0) + 1
    db.session.flush()
    return True


def record_usage(entry: KnowledgeEntry, actor, *, context: str, ref: str = "", url: str | None = None):
    if context not in CONTEXTS:
        raise ValidationFailed("引用位置无效", errors={"context": "未知的引用位置"})
    if url and not url.startswith("/"):
        url = None  # only links inside the application
    usage = KnowledgeUsage(entry_id=entry.id, context=context, ref=ref[:200], url=url, used_by_id=actor.id)
    db.session.add(usage)
    db.session.flush()
    return usage


PICKED_MAX = 10


def record_picked(ids: str | None, actor, *, context: str, ref: str = "", url: str | None = None) -> list:
    """The entries an officer picked on a form that is saved later (the inspection record): ``ids`` is the
    form's comma-separated list; each entry the officer may see is recorded once, at most PICKED_MAX of them.
    Unknown or hidden ids are passed over: the form was saved, the picks are only a record of use."""
    from app.knowledge.services import get_entry

    out, seen = [], set()
    if not actor.can("knowledge.read"):
        return out
    for part in (ids or "").split(","):
        part = part.strip()
        if not part.isdigit() or int(part) in seen or len(seen) >= PICKED_MAX:
            continue
        seen.add(int(part))
        try:
            entry = get_entry(int(part), actor)
        except (NotFound, PermissionDenied):
            continue
        out.append(record_usage(entry, actor, context=context, ref=ref, url=url))
    return out


def usages(entry: KnowledgeEntry, limit: int = 50) -> list[KnowledgeUsage]:
    return list(
        db.session.scalars(
            select(KnowledgeUsage)
            .where(KnowledgeUsage.entry_id == entry.id)
            .order_by(KnowledgeUsage.used_at.desc(), KnowledgeUsage.id.desc())
            .limit(limit)
        )
    )


# ---------------------------------------------------------------------------------------------
# attachments


def check_document(data: bytes, allowed: dict[str, str] = ALLOWED) -> tuple[str, str]:
    """An uploaded document's real type (sniffed from the bytes, not the name) and SM3 digest, or a Chinese
    ValidationFailed: empty, over UPLOAD_MAX_BYTES, or a type outside `allowed` (mime -> extension)."""
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    if not data:
        raise ValidationFailed("上传的文件为空", errors={"file": "文件为空"})
    if len(data) > limit:
        raise ValidationFailed(f"文件超过 {limit // (1024 * 1024)} MB 的限制", errors={"file": "文件过大"})
    kind = filetype.guess(data)
    mime = kind.mime if kind else None
    if mime == "application/zip" and _is_docx(data):
        mime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    if mime not in allowed:
        raise ValidationFailed("只能上传 PDF、Word 文档或图片", errors={"file": "文件类型不允许"})
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return mime, digest.finalize().hex()


def store_attachment(entry: KnowledgeEntry, actor, *, filename: str, data: bytes) -> KnowledgeAttachment:
    """PDF, Word and images only; the real type is sniffed from the bytes, not taken from the name."""
    check_edit(entry, actor)
    mime, sm3 = check_document(data)
    relative = f"knowledge/{entry.id}/{secrets.token_hex(10)}{ALLOWED[mime]}"
    files.put_new(files.UPLOADS + relative, data, mime)
    item = KnowledgeAttachment(
        entry_id=entry.id,
        filename=uploads.clean_filename(filename),
        content_type=mime,
        size=len(data),
        sm3=sm3,
        path=relative,
        uploaded_by_id=actor.id,
    )
    db.session.add(item)
    db.session.flush()
    return item


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "word/document.xml" in z.namelist()
    except zipfile.BadZipFile:
        return False


def attachments(entry: KnowledgeEntry) -> list[KnowledgeAttachment]:
    return list(
        db.session.scalars(
            select(KnowledgeAttachment).where(KnowledgeAttachment.entry_id == entry.id).order_by(KnowledgeAttachment.id)
        )
    )


def get_attachment(attachment_id: int) -> KnowledgeAttachment:
    item = db.session.get(KnowledgeAttachment, attachment_id)
    if item is None:
        raise NotFound("附件不存在")
    return item


def attachment_key(item: KnowledgeAttachment) -> str:
    """The attachment's key in app.storage."""
    return files.UPLOADS + item.path


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_paragraphs(item: KnowledgeAttachment, limit: int = 400) -> list[tuple[str, str]]:
    """The text of a Word document for the browser preview: (style, text) per paragraph."""
    try:
        with zipfile.ZipFile(io.BytesIO(files.read(attachment_key(item)))) as z:
            raw = z.read("word/document.xml")
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        root = etree.fromstring(raw, parser)
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError, OSError, NotFound):
        return [("p", "（文档无法预览，请下载查看）")]
    out = []
    for p in root.iter(f"{W}p"):
        text = "".join(t.text or "" for t in p.iter(f"{W}t")).strip()
        if not text:
            continue
        style = p.find(f"{W}pPr/{W}pStyle")
        name = (style.get(f"{W}val") or "") if style is not None else ""
        out.append(("h" if name.lower().startswith(("heading", "title")) else "p", text))
        if len(out) >= limit:
            break
    return out


# ---------------------------------------------------------------------------------------------
# synonyms


def synonyms() -> list[KnowledgeSynonym]:
    return list(db.session.scalars(select(KnowledgeSynonym).order_by(KnowledgeSynonym.id)))


def save_synonym(actor, words: str, row: KnowledgeSynonym | None = None) -> KnowledgeSynonym:
    if not actor.can("knowledge.admin"):
        raise PermissionDenied("只有知识库管理员可以维护同义词")
    items = [w for w in (x.strip() for x in (words or "").replace("，", ",").replace("、", ",").split(",")) if w]
    items = list(dict.fromkeys(items))
    if len(items) < 2:
        raise ValidationFailed("同义词组至少需要两个词，用逗号或顿号分隔", errors={"words": "至少两个词"})
    if any(len(w) > 20 for w in items):
        raise ValidationFailed("每个词不超过 20 个字", errors={"words": "词过长"})
    row = row or KnowledgeSynonym()
    row.words, row.updated_by_id, row.updated_at = "，".join(items), actor.id, utcnow()
    db.session.add(row)
    db.session.flush()
    return row


def delete_synonym(actor, row: KnowledgeSynonym) -> None:
    if not actor.can("knowledge.admin"):
        raise PermissionDenied("只有知识库管理员可以维护同义词")
    db.session.delete(row)
    db.session.flush()


def reindex_all() -> int:
    """Rebuild every entry's tokens (after new synonyms taught the tokenizer new words)."""
    from app.knowledge import search
    from app.knowledge.services import reindex

    search.synonym_map()
    n = 0
    for entry in db.session.scalars(select(KnowledgeEntry).order_by(KnowledgeEntry.id)):
        reindex(entry)
        n += 1
    db.session.flush()
    return n
