"""市应急管理局数据治理平台回送 (R2.6.3): enterprise data pulled into our enterprise base; our
enforcement (inspections), enterprise and qualified case-file (合格案卷: a case whose signed 评查 concluded
合格 or 优秀 and whose unit has submitted the file) data pushed in the Ministry's field names, in batches
that the platform acknowledges record by record. A failed batch is retried; rejected records can be resent."""

from __future__ import annotations

from sqlalchemy import select

from app.enterprises.models import Enterprise
from app.errors import ValidationFailed
from app.exchange.client import UpstreamError
from app.exchange.models import PushBatch, PushItem
from app.exchange.sources import Connector, org_id
from app.exchange.sync import RowRejected
from app.extensions import db
from app.models_base import utcnow

PUSH_DATASETS = {"enterprise": "企业基础信息", "inspection": "执法检查记录", "qualified_case": "合格案卷"}
BATCH_SIZE = 100


class Sjzl(Connector):
    code = "sjzl"
    label = "市应急管理局数据治理平台"
    requirement = "R2.6.3"
    datasets = ("enterprise",)
    incremental = ("enterprise",)
    schedule_every = 24 * 3600.0

    def prepare(self, dataset: str, row: dict) -> dict:
        district = org_id(row.get("district_code"))
        if district is None:
            raise RowRejected(
                [{"field": "district_code", "kind": "invalid", "message": "行政区划在本系统中没有对应的执法大队"}]
            )
        return {"org_id": district}

    def apply(self, dataset: str, row: dict, *, created: bool) -> None:
        ent = db.session.scalar(select(Enterprise).where(Enterprise.credit_code == row["credit_code"]))
        if ent is None:
            ent = Enterprise(credit_code=row["credit_code"], org_id=org_id(row["district_code"]))
            db.session.add(ent)
        ent.name = row["name"]
        ent.address = row.get("address") or ent.address
        ent.legal_person = row.get("legal_person") or ent.legal_person
        ent.district_code = row["district_code"]
        ent.industry_code = row.get("industry_code") or ent.industry_code
        db.session.flush()


CONNECTOR = Sjzl()


# ----------------------------------------------------------------------------------------- pushing


def ministry_payload(dataset: str, ref) -> dict:
    """Our row in the Ministry's exchange format (field names of the national data standard)."""
    if dataset == "enterprise":
        return {
            "id": str(ref.id),
            "TYSHXYDM": ref.credit_code,
            "QYMC": ref.name,
            "ZCDZ": ref.address or "",
            "FDDBR": ref.legal_person or "",
            "XZQHDM": ref.district_code or "",
            "HYDM": ref.industry_code or "",
        }
    if dataset == "qualified_case":
        case, review = ref, _signed_review(ref)
        units = [p for p in case.parties if p.kind == "unit"]
        return {
            "id": str(case.id),
            "AJBH": case.number,
            "AJMC": case.title,
            "AJLX": case.type_label,
            "BADW": case.org.name if case.org else "",
            "LARQ": case.filed_on.isoformat() if case.filed_on else "",
            "JARQ": case.closed_on.isoformat() if case.closed_on else "",
            "DSR": "；".join(p.name for p in case.parties),
            "TYSHXYDM": (units[0].id_code or "") if units else "",
            "FKJE": sum(p.penalty_yuan or 0 for p in case.parties),
            "PCJL": review.conclusion_label if review else "",
            "PCDF": review.total_score if review else None,
            "BSSJ": case.submitted_at.isoformat() if case.submitted_at else "",
        }
    return {
        "id": str(ref.id),
        "TYSHXYDM": ref.enterprise.credit_code if getattr(ref, "enterprise", None) else "",
        "JCRQ": ref.inspected_on.isoformat(),
        "JCLX": ref.kind,
        "JCJGBM": str(ref.org_id),
        "BZ": ref.note or "",
    }


def _signed_review(case):
    from app.cases.models import CaseReview

    return db.session.scalar(
        select(CaseReview)
        .where(CaseReview.case_id == case.id, CaseReview.signed_at.is_not(None))
        .order_by(CaseReview.signed_at.desc(), CaseReview.id.desc())
        .limit(1)
    )


def _rows(dataset: str, ids: list[int] | None = None):
    from app.plans.models import Inspection

    if dataset == "qualified_case":
        from app.cases.models import Case, CaseReview

        qualified = select(CaseReview.case_id).where(
            CaseReview.signed_at.is_not(None), CaseReview.conclusion.in_(("qualified", "excellent"))
        )
        stmt = select(Case).where(Case.id.in_(qualified), Case.submitted_at.is_not(None)).order_by(Case.id)
        if ids is not None:
            stmt = stmt.where(Case.id.in_(ids))
        return db.session.scalars(stmt)
    model = Enterprise if dataset == "enterprise" else Inspection
    stmt = select(model).order_by(model.id)
    if ids is not None:
        stmt = stmt.where(model.id.in_(ids))
    return db.session.scalars(stmt)


def pending_refs(dataset: str) -> list:
    """Our rows never accepted and not waiting in a batch."""
    done = set(
        db.session.scalars(
            select(PushItem.ref_id).where(
                PushItem.dataset == dataset, PushItem.status.in_(("accepted", "pending", "rejected"))
            )
        )
    )
    return [r for r in _rows(dataset) if str(r.id) not in done]


def make_batches(dataset: str, refs: list, size: int = BATCH_SIZE) -> list[PushBatch]:
    if dataset not in PUSH_DATASETS:
        raise ValidationFailed("不支持推送该数据集")
    batches = []
    for start in range(0, len(refs), size):
        batch = PushBatch(dataset=dataset, status="pending", size=0)
        db.session.add(batch)
        for ref in refs[start : start + size]:
            batch.items.append(PushItem(dataset=dataset, ref_id=str(ref.id), payload=ministry_payload(dataset, ref)))
        batch.size = len(batch.items)
        batches.append(batch)
    db.session.flush()
    return batches


def send(batch: PushBatch) -> PushBatch:
    """Send one batch; record the acknowledgement item by item, or the failure for a later retry."""
    client = CONNECTOR.client()
    batch.attempts += 1
    try:
        ack = client.post(
            f"/api/push/{batch.dataset}",
            {
                "batch_no": f"DUCHA-{batch.id:08d}",
                "items": [item.payload for item in batch.items if item.status == "pending"],
            },
        )
    except UpstreamError as exc:
        batch.status, batch.last_error = "failed", exc.message
        db.session.flush()
        return batch
    accepted = {str(i) for i in ack.get("accepted") or []}
    reasons = {str(r.get("id")): r.get("reason") or "被拒收" for r in ack.get("rejected") or []}
    for item in batch.items:
        if item.status != "pending":
            continue
        if item.payload.get("id") in accepted:
            item.status = "accepted"
        elif item.payload.get("id") in reasons:
            item.status, item.reason = "rejected", reasons[item.payload["id"]][:300]
    batch.accepted = sum(1 for i in batch.items if i.status == "accepted")
    batch.rejected = sum(1 for i in batch.items if i.status == "rejected")
    batch.status, batch.ack_id, batch.acked_at, batch.last_error = "acked", ack.get("ack_id"), utcnow(), None
    db.session.flush()
    return batch


def push(dataset: str) -> list[PushBatch]:
    """Batch every row not yet accepted and send the batches."""
    return [send(b) for b in make_batches(dataset, pending_refs(dataset))]


def retry_failed() -> list[PushBatch]:
    failed = db.session.scalars(select(PushBatch).where(PushBatch.status == "failed").order_by(PushBatch.id)).all()
    return [send(b) for b in failed]


def resend_rejected(dataset: str) -> list[PushBatch]:
    """Put the rejected records (after their fix in our data) into new batches and send them."""
    items = db.session.scalars(select(PushItem).where(PushItem.dataset == dataset, PushItem.status == "rejected")).all()
    ids = [int(i.ref_id) for i in items]
    for item in items:
        item.status = "resent"
    db.session.flush()
    return [send(b) for b in make_batches(dataset, list(_rows(dataset, ids)))]
