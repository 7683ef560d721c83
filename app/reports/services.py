"""Store, number, sign and verify documents. Flask-free apart from app config; services flush.

A document is rendered from a report template and a JSON-friendly context, stored as a PDF in app.storage
under ``documents/<Document.path>`` and identified by the SM3 digest of its bytes. Signing renders it
again with the signer, time and number in the signature block; the signed file's digest is what
`verify_pdf` recognises, so a changed byte makes a file "not an original".
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import hashes
from flask import current_app
from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError

from app.audit import services as audit
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.reports.models import Document, DocumentCounter
from app.reports.render import Progress, render_pdf
from app.security.scope import scope_for
from app.storage import files

SIGN_PERMISSION = "report.signoff"
DEFAULT_NUMBER_PREFIX = "沪应急执"
MAX_SIGNATURE_BYTES = 512 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def document_key(doc_or_path: Document | str) -> str:
    """The document's key in app.storage (a tampered path is refused there: no "..", no absolute path)."""
    relative = doc_or_path if isinstance(doc_or_path, str) else doc_or_path.path
    return files.DOCUMENTS + relative


def read_document(doc: Document) -> bytes:
    if not doc.ready:
        raise Conflict("文书正在生成，请稍后刷新页面再下载")
    return files.read(document_key(doc), missing="文书文件不存在或已被移除")


def download_url(doc: Document) -> str:
    """The download path (built by hand: background jobs have no request to build URLs from)."""
    return f"/documents/{doc.id}/download"


def _json_context(context: dict) -> dict:
    """Dates become ISO strings, so the context can be stored and rendered again."""

    def default(value):
        if isinstance(value, datetime | date):
            return value.isoformat()
        raise TypeError(f"not JSON serialisable in a document context: {type(value).__name__}")

    return json.loads(json.dumps(context, ensure_ascii=False, default=default))


def _write_file(data: bytes) -> str:
    """Store bytes as a new PDF object; removed again if the transaction rolls back."""
    today = utcnow()
    relative = f"{today:%Y}/{today:%m}/{uuid.uuid4().hex}.pdf"
    files.put_new(document_key(relative), data, "application/pdf")
    return relative


def store_document(
    *,
    kind: str,
    title: str,
    template: str,
    context: dict,
    org_id: int,
    created_by=None,
    number: str | None = None,
    instance_id: int | None = None,
    business_key: str | None = None,
    data: bytes | None = None,
    progress: Progress | None = None,
    defer: bool = False,
) -> Document:
    """Render (unless `data` is given) and store a draft document; flush its row and audit it.

    `context` is the report template's context (see the template's header); it is stored with
    the row, so it must be JSON-friendly (dates are converted to ISO strings). `defer`: store the row
    only and let the job worker render it after the commit (app/reports/background.py), which also
    writes the audit entry with the digest.
    """
    stored = _json_context({**context, "title": title, "number": number})
    if defer:
        doc = Document(
            org_id=org_id,
            kind=kind,
            number=number,
            title=title,
            instance_id=instance_id,
            business_key=business_key,
            template=template,
            context=stored,
            path="",
            size=0,
            sm3="",
            status="draft",
            created_by_id=getattr(created_by, "id", None),
        )
        db.session.add(doc)
        db.session.flush()
        from app.reports.background import queue_render

        queue_render(doc, user=created_by)
        return doc
    if data is None:
        data = render_pdf(template, {**stored, "draft": True}, progress=progress)
    doc = Document(
        org_id=org_id,
        kind=kind,
        number=number,
        title=title,
        instance_id=instance_id,
        business_key=business_key,
        template=template,
        context=stored,
        path=_write_file(data),
        size=len(data),
        sm3=sm3_hex(data),
        status="draft",
        created_by_id=getattr(created_by, "id", None),
    )
    db.session.add(doc)
    db.session.flush()
    audit.record(
        "document.create",
        actor=created_by,
        object_type="document",
        object_id=doc.id,
        detail={"kind": kind, "title": title, "sm3": doc.sm3, "size": doc.size},
    )
    return doc


def allocate_number(prefix: str | None = None, year: int | None = None) -> str:
    """The next 文号 for a prefix and year, e.g. 沪应急执〔2026〕12号 (the counter row is locked)."""
    prefix = prefix or current_app.config.get("DOCUMENT_NUMBER_PREFIX", DEFAULT_NUMBER_PREFIX)
    year = year or utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).year
    key = f"{prefix}:{year}"
    stmt = select(DocumentCounter).where(DocumentCounter.key == key).with_for_update()
    counter = db.session.scalar(stmt)
    if counter is None:
        try:
            with db.session.begin_nested():
                db.session.add(DocumentCounter(key=key, last=0))
        except IntegrityError:  # created by a concurrent transaction: use theirs
            pass
        counter = db.session.scalars(stmt.execution_options(populate_existing=True)).one()
    counter.last += 1
    db.session.flush()
    return f"{prefix}〔{year}〕{counter.last}号"


def _signature_data_uri(png: bytes | None) -> str | None:
    if not png:
        return None
    if not png.startswith(PNG_MAGIC):
        raise ValidationFailed("手写签名必须是 PNG 图片", errors={"signature": "手写签名必须是 PNG 图片"})
    if len(png) > MAX_SIGNATURE_BYTES:
        raise ValidationFailed("手写签名图片过大", errors={"signature": "手写签名图片不能超过 512 KB"})
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _org(org_id: int) -> Organisation | None:
    return db.session.get(Organisation, org_id)


def sign_document(
    doc: Document,
    *,
    signer,
    signature_png: bytes | None = None,
    number: str | None = None,
    ip: str | None = None,
    progress: Progress | None = None,
    defer: bool = False,
) -> Document:
    """Sign a draft: render it again with signer, time and number, store it, record its SM3 and audit.

    `defer`: record the signature (number, signer, time, signed context) now and let the job worker
    render the signed original, digest it and audit `document.sign` after the commit.

    The signer needs the 报告签发 permission and the document inside their data scope. The
    number is, in order: `number`, the document's own, or the next one from `allocate_number`.
    """
    if not signer.can(SIGN_PERMISSION):
        raise PermissionDenied("您没有签发文书的权限")
    if not scope_for(signer).contains(_org(doc.org_id)):
        raise PermissionDenied("该文书不在您的数据范围内")
    # Lock the row: two people signing at once -> one wins, the other sees who signed.
    locked = db.session.scalars(
        select(Document).where(Document.id == doc.id).with_for_update().execution_options(populate_existing=True)
    ).one()
    if locked.status == "signed":
        raise Conflict(f"该文书已由{locked.signer_name}签发，文号 {locked.number}")
    image = _signature_data_uri(signature_png)
    signed_at = utcnow()
    number = number or locked.number or allocate_number()
    context = {
        **locked.context,
        "number": number,
        "draft": False,
        "signature": {"signer": signer.name, "signed_at": signed_at.isoformat(), "number": number, "image": image},
    }
    if defer:
        replaced = locked.path or None
        locked.context = context
        locked.path, locked.size, locked.sm3 = "", 0, ""
        locked.number, locked.status, locked.signed_at = number, "signed", signed_at
        locked.signed_by_id, locked.signer_name = signer.id, signer.name
        db.session.flush()
        from app.reports.background import queue_render

        queue_render(locked, user=signer, replaced=replaced)
        return locked
    data = render_pdf(locked.template, context, progress=progress)
    replaced = document_key(locked) if locked.path else None
    locked.path = _write_file(data)
    locked.size = len(data)
    locked.sm3 = sm3_hex(data)
    locked.number = number
    locked.status = "signed"
    locked.signed_at = signed_at
    locked.signed_by_id = signer.id
    locked.signer_name = signer.name
    db.session.flush()
    if replaced:
        files.delete_after_commit(replaced)  # the draft is superseded once this commits
    audit.record(
        "document.sign",
        actor=signer,
        object_type="document",
        object_id=locked.id,
        ip=ip,
        detail={
            "number": number,
            "title": locked.title,
            "sm3": locked.sm3,
            "size": locked.size,
            "signed_at": signed_at.isoformat(),
            "handwritten": image is not None,
        },
    )
    return locked


def verify_pdf(data: bytes) -> Document | None:
    """The signed document these exact bytes are, or None (not ours, a draft, or changed)."""
    if not data:
        return None
    return db.session.scalar(select(Document).where(Document.sm3 == sm3_hex(data), Document.status == "signed"))


# Documents are read by people who work cases; an administrator without a business role (system, security,
# audit or process administrator) may not read them, whatever its scope (separation of duties).
BUSINESS_PERMISSIONS = (
    "clue.register",
    "clue.review",
    "clue.judge",
    "clue.dispatch",
    "clue.handle",
    "report.signoff",
    "plan.draft",
    "plan.approve",
    "account.apply",
    "account.approve",
    "deadline.approve",
)


def require_business_role(user) -> None:
    if not any(user.can(p) for p in BUSINESS_PERMISSIONS):
        raise PermissionDenied("没有业务角色的账号（如管理员）不能查阅文书")


def scoped_documents(user, *, kind: str | None = None, status: str | None = None, q: str | None = None) -> Select:
    """Documents in the user's data scope, newest first (business roles only)."""
    require_business_role(user)
    stmt = scope_for(user).filter_org(select(Document), Document.org_id)
    if kind:
        stmt = stmt.where(Document.kind == kind)
    if status:
        stmt = stmt.where(Document.status == status)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(
            or_(Document.title.ilike(like), Document.number.ilike(like), Document.business_key.ilike(like))
        )
    return stmt.order_by(Document.created_at.desc(), Document.id.desc())


def get_document(doc_id: int, user) -> Document:
    """A document inside the user's scope; missing and out-of-scope look the same (404)."""
    require_business_role(user)
    doc = db.session.get(Document, doc_id)
    if doc is None or not scope_for(user).contains(_org(doc.org_id)):
        raise NotFound("文书不存在或不在您的数据范围内")
    return doc


def record_download(doc: Document, user, *, ip: str | None = None) -> str:
    """Audit who downloaded which version (by digest); the file's key in app.storage, to be sent."""
    if not doc.ready:
        raise Conflict("文书正在生成，请稍后刷新页面再下载")
    key = document_key(doc)
    if not files.exists(key):
        raise NotFound("文书文件不存在或已被移除")
    audit.record(
        "document.download",
        actor=user,
        object_type="document",
        object_id=doc.id,
        ip=ip,
        detail={"number": doc.number, "sm3": doc.sm3, "status": doc.status},
    )
    return key


def record_verification(user, doc: Document | None, digest: str, *, ip: str | None = None) -> None:
    audit.record(
        "document.verify",
        actor=user,
        object_type="document",
        object_id=doc.id if doc else None,
        ip=ip,
        detail={"sm3": digest, "genuine": doc is not None},
    )
