"""Documents rendered by the job worker, never inside a web request, and never twice for the same data.

- `start_document_generation` (monthly report, samples): a job renders and stores a new draft. Its
  `content_key` is the SM3 of (kind, template, organisation, context): when a document with that key
  exists, the job returns it without rendering (the same monthly report asked for by 57 people is
  rendered once), and two jobs with the same key never run at the same time (the queue's dedup key).
- `queue_render` (the clue's investigation order and report, sign-off): the request stores the row
  (number, signer, context) with no file yet (`Document.ready` is False, the pages say 生成中) and a
  job renders it in its current state: a draft, or the signed original with the signature block. The
  job writes the file, the SM3 digest and the audit entry (`document.create` / `document.sign`, with
  the digest) in one commit; a document already rendered in its current state is left alone.
"""

from __future__ import annotations

import contextlib
import json

from sqlalchemy import select, update

from app.audit import services as audit
from app.extensions import db
from app.reports import services
from app.reports.models import Document
from app.reports.render import Progress, render_pdf
from app.storage import BadKey, check_key, files


def content_key(*, kind: str, template: str, org_id: int, context: dict) -> str:
    body = json.dumps([kind, template, org_id, context], ensure_ascii=False, sort_keys=True, default=str)
    return services.sm3_hex(body.encode("utf-8"))


def identical(key: str, kind: str, org_id: int) -> Document | None:
    """The ready document rendered from exactly this data, if there is one."""
    same = db.session.scalar(
        select(Document)
        .where(Document.content_key == key, Document.kind == kind, Document.org_id == org_id, Document.path != "")
        .order_by(Document.id.desc())
        .limit(1)
    )
    return same if same is not None and files.exists(services.document_key(same)) else None


def generate_document_job(
    report: Progress,
    *,
    kind: str,
    title: str,
    template: str,
    context: dict,
    org_id: int,
    user_id: int | None,
    url: str | None = None,
    **fields,
) -> dict:
    """Job function: render and store a draft document (or find the identical one); returns its URL.

    `url`: where the result is fetched when not the document's own download (e.g. the print.pdf route).
    """
    from app.auth.models import User

    key = content_key(kind=kind, template=template, org_id=org_id, context={**context, "title": title})
    same = identical(key, kind, org_id)
    if same is not None:
        report(99, "相同数据的文书已生成，直接使用")
        return {"url": url or services.download_url(same), "document_id": same.id, "message": f"文书已生成：{title}"}
    user = db.session.get(User, user_id) if user_id else None
    doc = services.store_document(
        kind=kind,
        title=title,
        template=template,
        context=context,
        org_id=org_id,
        created_by=user,
        progress=report,
        **fields,
    )
    doc.content_key = key
    return {"url": url or services.download_url(doc), "document_id": doc.id, "message": f"文书已生成：{title}"}


def render_once(*, user, kind: str, title: str, template: str, context: dict, org_id: int, url: str, **fields):
    """(document, None) when this exact document exists already, else (None, the job that renders it)."""
    context = services._json_context(context)
    key = content_key(kind=kind, template=template, org_id=org_id, context={**context, "title": title})
    same = identical(key, kind, org_id)
    if same is not None:
        return same, None
    job = start_document_generation(
        user=user, kind=kind, title=title, template=template, context=context, org_id=org_id, url=url, **fields
    )
    return None, job


def start_document_generation(*, user, kind: str, title: str, template: str, context: dict, org_id: int, **fields):
    """Generate a document in the background (P-PROGRESS); returns the Job (runs after commit)."""
    from app.reports.jobs import start_job

    context = services._json_context(context)
    key = content_key(kind=kind, template=template, org_id=org_id, context={**context, "title": title})
    return start_job(
        "document.generate",
        generate_document_job,
        user=user,
        dedup_key=key,
        kind=kind,
        title=title,
        template=template,
        context=context,
        org_id=org_id,
        user_id=getattr(user, "id", None),
        **fields,
    )


def queue_render(doc: Document, *, user=None, replaced: str | None = None):
    """Render `doc` in the job worker once the caller commits (its row has no file until then)."""
    from app.reports.jobs import start_job

    return start_job(
        "document.render",
        render_document_job,
        doc.id,
        replaced,
        user=user,
        dedup_key=f"document:{doc.id}",
    )


def render_document_job(report: Progress, doc_id: int, replaced: str | None = None) -> dict:
    """Job function: render a queued document in its current state, store the file, digest and audit."""
    doc = db.session.scalars(
        select(Document).where(Document.id == doc_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if doc is None:
        return {"message": "文书已不存在"}
    if doc.ready:
        return {"url": services.download_url(doc), "document_id": doc.id, "message": "文书已生成"}
    signed = doc.status == "signed"
    seen = (doc.status, doc.signed_at)
    data = render_pdf(doc.template, {**doc.context, "draft": not signed}, progress=report)
    relative = services._write_file(data)
    # Store it only if the row is still in the state rendered (SQLite has no row lock: a sign-off may
    # have come in meanwhile; its own render job follows this one and renders the signed original).
    stored = db.session.execute(
        update(Document)
        .where(Document.id == doc_id, Document.path == "", Document.status == seen[0])
        .where(Document.signed_at.is_(None) if seen[1] is None else Document.signed_at == seen[1])
        .values(path=relative, size=len(data), sm3=services.sm3_hex(data))
        .execution_options(synchronize_session=False)
    ).rowcount
    if stored != 1:
        files.delete(services.document_key(relative))
        return {"document_id": doc_id, "message": "文书内容已更新，按最新内容生成"}
    db.session.refresh(doc)
    if replaced:  # the draft a signature superseded goes once the signed original is committed
        with contextlib.suppress(BadKey):  # a tampered path: nothing outside the documents is touched
            files.delete_after_commit(check_key(services.document_key(replaced)))
    actor = _user(doc.signed_by_id if signed else doc.created_by_id)
    detail = {"title": doc.title, "sm3": doc.sm3, "size": doc.size}
    if signed:
        detail |= {"number": doc.number, "signed_at": doc.signed_at.isoformat() if doc.signed_at else None}
        detail["handwritten"] = bool((doc.context.get("signature") or {}).get("image"))
    else:
        detail["kind"] = doc.kind
    audit.record(
        "document.sign" if signed else "document.create",
        actor=actor,
        object_type="document",
        object_id=doc.id,
        detail=detail,
    )
    return {"url": services.download_url(doc), "document_id": doc.id, "message": f"文书已生成：{doc.title}"}


def _user(user_id: int | None):
    from app.auth.models import User

    return db.session.get(User, user_id) if user_id else None
