"""行刑衔接: referral of a case to public security, the answer (受理 / 不予受理), the outcome, and the
overdue flag (no answer within the settings' days)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.cases import services
from app.cases.models import ACCEPTANCE, Case, CaseReferral
from app.cases.rules import local_today
from app.errors import ValidationFailed
from app.extensions import db
from app.tabular.export import Column


def _date(value, label: str, errors: dict, key: str, required: bool = False) -> date | None:
    value = str(value or "").strip()
    if not value:
        if required:
            errors[key] = f"请填写{label}"
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[key] = f"{label}不是有效日期"
        return None


def create(case: Case, actor, data: dict) -> CaseReferral:
    services.check_edit(case, actor)
    errors: dict = {}
    referred = _date(data.get("referred_on"), "移送日期", errors, "referred_on", required=True)
    receiver = str(data.get("receiver") or "").strip()
    if not receiver:
        errors["receiver"] = "请填写接收单位"
    elif len(receiver) > 120:
        errors["receiver"] = "接收单位不能超过 120 个字"
    if referred and case.filed_on and referred < case.filed_on:
        errors["referred_on"] = "移送日期不能早于立案日期"
    if errors:
        raise ValidationFailed("移送信息有误：" + "；".join(errors.values()), errors=errors)
    row = CaseReferral(case_id=case.id, referred_on=referred, receiver=receiver, created_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    return row


def answer(referral: CaseReferral, actor, data: dict) -> CaseReferral:
    services.check_edit(referral.case, actor)
    errors: dict = {}
    acceptance = str(data.get("acceptance") or "").strip()
    if acceptance not in ACCEPTANCE:
        errors["acceptance"] = "请选择受理情况"
    answered = _date(data.get("answered_on"), "答复日期", errors, "answered_on", required=acceptance != "pending")
    if answered and answered < referral.referred_on:
        errors["answered_on"] = "答复日期不能早于移送日期"
    if errors:
        raise ValidationFailed("受理情况有误：" + "；".join(errors.values()), errors=errors)
    referral.acceptance, referral.answered_on = acceptance, answered
    referral.outcome = str(data.get("outcome") or "").strip()[:500]
    db.session.flush()
    return referral


def answer_due(referral: CaseReferral, days: int) -> date:
    return referral.referred_on + timedelta(days=days)


def is_overdue(referral: CaseReferral, today: date, days: int) -> bool:
    """No answer within `days` of the referral (or answered late)."""
    due = answer_due(referral, days)
    if referral.acceptance == "pending":
        return today > due
    return bool(referral.answered_on and referral.answered_on > due)


def list_rows(
    actor,
    *,
    acceptance: str = "",
    overdue: str = "",
    q: str = "",
    case_id: int | None = None,
    today: date | None = None,
) -> list[dict]:
    today = today or local_today()
    days = int(services.settings()["referral_answer_days"])
    stmt = services.scoped(select(CaseReferral).join(Case, Case.id == CaseReferral.case_id), actor)
    if case_id is not None:
        stmt = stmt.where(CaseReferral.case_id == case_id)
    if acceptance in ACCEPTANCE:
        stmt = stmt.where(CaseReferral.acceptance == acceptance)
    if q:
        stmt = stmt.where(Case.number.like(f"%{q}%") | Case.title.like(f"%{q}%") | CaseReferral.receiver.like(f"%{q}%"))
    rows = []
    for r in db.session.scalars(stmt.order_by(CaseReferral.referred_on.desc(), CaseReferral.id.desc()).limit(2000)):
        late = is_overdue(r, today, days)
        if overdue == "1" and not late:
            continue
        rows.append({"referral": r, "case": r.case, "overdue": late, "due": answer_due(r, days)})
    return rows


EXPORT_COLUMNS = [
    Column("案件编号", lambda row: row["case"].number),
    Column("案件名称", lambda row: row["case"].title),
    Column("办案单位", lambda row: row["case"].org.name),
    Column("移送日期", kind="date", get=lambda row: row["referral"].referred_on),
    Column("接收单位", lambda row: row["referral"].receiver),
    Column("受理情况", lambda row: row["referral"].acceptance_label),
    Column("答复日期", kind="date", get=lambda row: row["referral"].answered_on),
    Column("答复期限", kind="date", get=lambda row: row["due"]),
    Column("是否逾期", lambda row: "逾期" if row["overdue"] else ""),
    Column("处理结果", lambda row: row["referral"].outcome),
]
