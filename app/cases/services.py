"""Cases: scoped queries, create/update from a form or an import row (one validator for both), documents,
and the versioned settings. Services flush, never commit; they raise the project's domain errors."""

from __future__ import annotations

import itertools
import re
import secrets
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.audit import services as audit
from app.auth.models import User
from app.cases.models import (
    CASE_TYPES,
    DOC_TYPES,
    STEPS,
    Case,
    CaseDocument,
    CaseParty,
    CaseSetting,
    CaseViolation,
)
from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.knowledge.models import KnowledgeEntry
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.security import uploads
from app.security.scope import scope_for
from app.storage import files

SETTING_DEFAULTS = {"qualified_due_date": "", "remind_days_before": 3, "referral_answer_days": 3}
ALLOWED = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
CASE_ORG_KINDS = ("city", "section", "district", "street")


# ---------------------------------------------------------------------------------------------
# scope and lookups


def scoped(stmt, actor):
    """Restrict a query on Case to the actor's data scope (a district: its own subtree; the city: all;
    an SOE group: only cases of its own units, which enforcement cases never are)."""
    return scope_for(actor).filter_org(stmt, Case.org_id)


def get_case(case_id: int, actor) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound("案件不存在")
    if not scope_for(actor).contains(case.org):
        raise PermissionDenied("该案件不在您的数据范围内")
    return case


def check_edit(case: Case | None, actor, org: Organisation | None = None) -> None:
    if not actor.can("case.edit") and not actor.can("case.admin"):
        raise PermissionDenied("您没有维护案件的权限")
    target = org or (case.org if case else None)
    if target is not None and not scope_for(actor).contains(target):
        raise PermissionDenied("只能维护本单位数据范围内的案件")


def case_orgs(actor) -> list[Organisation]:
    stmt = select(Organisation).where(Organisation.kind.in_(CASE_ORG_KINDS), Organisation.active.is_(True))
    return list(db.session.scalars(scope_for(actor).filter_org(stmt, Organisation.id).order_by(Organisation.path)))


def list_from_args(actor, args) -> tuple:
    """The case list's filters from the query string (the page, its export and the API): (select, filters)."""
    q = (args.get("q") or "").strip()[:100]
    org = str(args.get("org") or "")
    filters = {"q": q, "type": args.get("type") or "", "status": args.get("status") or "", "org": org}
    stmt = list_stmt(
        actor,
        q=q,
        case_type=filters["type"],
        status=filters["status"],
        org_id=int(org) if org.isdigit() else None,
    )
    return stmt, filters


def list_stmt(actor, *, q: str = "", case_type: str = "", org_id: int | None = None, status: str = ""):
    stmt = scoped(select(Case), actor)
    if q:
        like = f"%{q}%"
        parties = select(CaseParty.case_id).where(CaseParty.name.like(like))
        stmt = stmt.where(or_(Case.number.like(like), Case.title.like(like), Case.id.in_(parties)))
    if case_type in CASE_TYPES:
        stmt = stmt.where(Case.case_type == case_type)
    if org_id:
        org = db.session.get(Organisation, org_id)
        if org is not None:
            stmt = stmt.where(Case.org_id.in_(select(Organisation.id).where(Organisation.path.startswith(org.path))))
    if status:
        stmt = stmt.where(Case.status == status)
    # the unit and the 主办人 of a page's cases in one statement each (not one per case)
    stmt = stmt.options(selectinload(Case.org), selectinload(Case.officer))
    return stmt.order_by(Case.filed_on.desc().nulls_last(), Case.id.desc())


# ---------------------------------------------------------------------------------------------
# create / update (form and import share one validator)


def _date(value, label: str, errors: dict, key: str) -> date | None:
    value = (str(value or "")).strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10].replace("/", "-"))
    except ValueError:
        errors[key] = f"{label}不是有效日期（格式如 2026-03-15）"
        return None


def _amount(value, label: str, errors: dict, key: str) -> int | None:
    value = str(value or "").strip().replace(",", "").replace("，", "")
    if not value:
        return None
    try:
        amount = float(value)
    except ValueError:
        errors[key] = f"{label}应为数字（元）"
        return None
    if amount < 0 or amount > 100_000_000:
        errors[key] = f"{label}应在 0–1 亿元之间"
        return None
    return round(amount)


def _org(value, actor, errors: dict) -> Organisation | None:
    value = str(value or "").strip()
    if not value:
        errors["org"] = "请选择办案单位"
        return None
    org = db.session.scalar(
        select(Organisation).where(
            or_(
                Organisation.code == value,
                Organisation.name == value,
                Organisation.id == (int(value) if value.isdigit() else -1),
            )
        )
    )
    if org is None or org.kind not in CASE_ORG_KINDS:
        errors["org"] = f"办案单位「{value}」不存在"
        return None
    if not scope_for(actor).contains(org):
        errors["org"] = f"办案单位「{org.name}」不在您的数据范围内"
        return None
    return org


def _entries(value, errors: dict) -> list[KnowledgeEntry]:
    codes = [c for c in re.split(r"[,，、;；\s]+", str(value or "")) if c]
    if not codes:
        return []
    found = {
        e.code: e
        for e in db.session.scalars(
            select(KnowledgeEntry).where(KnowledgeEntry.code.in_(codes), KnowledgeEntry.library == "violation")
        )
    }
    missing = [c for c in codes if c not in found]
    if missing:
        errors["violations"] = "违法行为库中没有编号：" + "、".join(missing)
    return [found[c] for c in dict.fromkeys(codes) if c in found]


PICKED_MAX = 20


def add_picked_violations(values: dict, actor) -> dict:
    """The case form's violation codes plus those of the violations picked with the 知识智库 picker (the
    form's ``knowledge_ids``: entries the actor may see; guides are only recorded as used, not added)."""
    from app.knowledge.search import visible_clause

    ids = [int(p) for p in str(values.get("knowledge_ids") or "").split(",") if p.strip().isdigit()][:PICKED_MAX]
    if not ids:
        return values
    picked = db.session.scalars(
        select(KnowledgeEntry.code).where(
            KnowledgeEntry.id.in_(ids),
            KnowledgeEntry.library == "violation",
            KnowledgeEntry.code.is_not(None),
            visible_clause(scope_for(actor)),
        )
    ).all()
    codes = [c for c in re.split(r"[,，、;；\s]+", str(values.get("violations") or "")) if c]
    return {**values, "violations": "、".join(dict.fromkeys([*codes, *sorted(picked)]))}


def clean(data: dict, actor) -> dict:
    """Validate a case as typed (form or import row): a dict of clean values, or ValidationFailed with a
    Chinese message per field."""
    errors: dict[str, str] = {}
    out: dict = {}
    out["number"] = str(data.get("number") or "").strip()
    out["title"] = str(data.get("title") or "").strip()
    if not out["number"]:
        errors["number"] = "请填写案件编号"
    elif len(out["number"]) > 60:
        errors["number"] = "案件编号不能超过 60 个字"
    if not out["title"]:
        errors["title"] = "请填写案件名称"
    elif len(out["title"]) > 200:
        errors["title"] = "案件名称不能超过 200 个字"
    kind = str(data.get("case_type") or "").strip()
    kind = {v: k for k, v in CASE_TYPES.items()}.get(kind, kind)
    if kind not in CASE_TYPES:
        errors["case_type"] = "程序类型应为：" + "、".join(CASE_TYPES.values())
    out["case_type"] = kind
    out["org"] = _org(data.get("org"), actor, errors)
    for key, label in STEPS:
        out[key] = _date(data.get(key), f"{label}日期", errors, key)
    dated = [(k, label, out[k]) for k, label in STEPS if out.get(k)]
    for (_k1, l1, d1), (k2, l2, d2) in itertools.pairwise(dated):
        if d2 < d1 and k2 not in errors:
            errors[k2] = f"{l2}日期不能早于{l1}日期"
    out["facts"] = str(data.get("facts") or "").strip()[:5000]
    officer = str(data.get("officer") or "").strip()
    out["officer"] = None
    if officer:
        out["officer"] = db.session.scalar(select(User).where(or_(User.login == officer, User.name == officer)))
        if out["officer"] is None:
            errors["officer"] = f"主办人「{officer}」不存在"
    out["unit_name"] = str(data.get("unit_name") or "").strip()[:120]
    out["unit_code"] = str(data.get("unit_code") or "").strip()[:40]
    out["unit_penalty"] = _amount(data.get("unit_penalty"), "单位罚款", errors, "unit_penalty")
    out["person_name"] = str(data.get("person_name") or "").strip()[:120]
    out["person_position"] = str(data.get("person_position") or "").strip()[:40]
    out["person_penalty"] = _amount(data.get("person_penalty"), "个人罚款", errors, "person_penalty")
    if not out["unit_name"] and not out["person_name"]:
        errors["unit_name"] = "请至少填写一个当事人（单位或个人）"
    if out["unit_penalty"] and not out["unit_name"]:
        errors["unit_penalty"] = "填写了单位罚款，但没有当事单位名称"
    if out["person_penalty"] and not out["person_name"]:
        errors["person_penalty"] = "填写了个人罚款，但没有责任人姓名"
    out["entries"] = _entries(data.get("violations"), errors)
    if errors:
        raise ValidationFailed("案件信息有误：" + "；".join(errors.values()), errors=errors)
    return out


def _apply(case: Case, values: dict) -> None:
    case.number, case.title, case.case_type = values["number"], values["title"], values["case_type"]
    case.org_id = values["org"].id
    case.org = values["org"]
    case.facts = values["facts"]
    if values["officer"] is not None:
        case.officer_id = values["officer"].id
    for key, _ in STEPS:
        setattr(case, key, values[key])
    case.status = "closed" if values["closed_on"] else "open"
    case.parties.clear()
    db.session.flush()
    if values["unit_name"]:
        case.parties.append(
            CaseParty(
                kind="unit",
                name=values["unit_name"],
                id_code=values["unit_code"] or None,
                penalty_yuan=values["unit_penalty"],
            )
        )
    if values["person_name"]:
        case.parties.append(
            CaseParty(
                kind="person",
                name=values["person_name"],
                id_code=values["person_position"] or None,
                penalty_yuan=values["person_penalty"],
            )
        )
    wanted = {e.id for e in values["entries"]}
    for v in list(case.violations):
        if v.entry_id not in wanted:
            case.violations.remove(v)
    have = {v.entry_id for v in case.violations}
    for e in values["entries"]:
        if e.id not in have:
            case.violations.append(CaseViolation(entry_id=e.id, entry=e))
    case.updated_at = utcnow()


def save_case(
    actor, data: dict, case: Case | None = None, *, source: str = "manual", values: dict | None = None
) -> tuple[Case, bool]:
    """Create or update a case; with `case` None an existing number is updated (idempotent imports).
    Returns (case, created)."""
    values = values or clean(data, actor)
    existing = db.session.scalar(select(Case).where(Case.number == values["number"]))
    if case is None and existing is not None and source == "manual":
        raise ValidationFailed(f"案件编号 {values['number']} 已存在", errors={"number": "案件编号已存在"})
    if case is not None and existing is not None and existing.id != case.id:
        raise ValidationFailed(f"案件编号 {values['number']} 已被其他案件使用", errors={"number": "案件编号已存在"})
    target = case or existing
    check_edit(target, actor, values["org"])
    created = target is None
    if created:
        target = Case(created_by_id=actor.id, source=source, officer_id=actor.id)
        db.session.add(target)
    _apply(target, values)
    db.session.flush()
    audit.record(
        "case.create" if created else "case.update",
        actor=actor,
        object_type="case",
        object_id=target.id,
        detail={"number": target.number, "source": source},
    )
    return target, created


def form_values(case: Case) -> dict:
    unit = next((p for p in case.parties if p.kind == "unit"), None)
    person = next((p for p in case.parties if p.kind == "person"), None)
    values = {
        "number": case.number,
        "title": case.title,
        "case_type": case.case_type,
        "org": case.org.code,
        "facts": case.facts,
        "officer": case.officer.login if case.officer else "",
        "unit_name": unit.name if unit else "",
        "unit_code": (unit.id_code or "") if unit else "",
        "unit_penalty": unit.penalty_yuan if unit and unit.penalty_yuan is not None else "",
        "person_name": person.name if person else "",
        "person_position": (person.id_code or "") if person else "",
        "person_penalty": person.penalty_yuan if person and person.penalty_yuan is not None else "",
        "violations": "、".join(v.entry.code or "" for v in case.violations),
    }
    for key, _ in STEPS:
        values[key] = getattr(case, key).isoformat() if getattr(case, key) else ""
    return values


# ---------------------------------------------------------------------------------------------
# documents


def add_document(case: Case, actor, *, doc_type: str, filename: str, data: bytes) -> CaseDocument:
    check_edit(case, actor)
    if doc_type not in DOC_TYPES:
        raise ValidationFailed("请选择文书类型", errors={"doc_type": "文书类型无效"})
    from app.knowledge.extras import check_document

    mime, sm3 = check_document(data, ALLOWED)  # one check of uploaded documents (real type, size, SM3)
    relative = f"cases/{case.id}/{secrets.token_hex(10)}{ALLOWED[mime]}"
    files.put_new(files.UPLOADS + relative, data, mime)  # app/storage: the file store or S3
    doc = CaseDocument(
        doc_type=doc_type,
        filename=uploads.clean_filename(filename),
        content_type=mime,
        size=len(data),
        sm3=sm3,
        path=relative,
        uploaded_by_id=actor.id,
    )
    case.documents.append(doc)
    db.session.flush()
    return doc


def register_documents(case: Case, doc_types: list[str], actor=None) -> None:
    """Documents named by an import (the file stays in the source system): one row per missing type."""
    have = {d.doc_type for d in case.documents}
    for t in doc_types:
        if t not in have:
            case.documents.append(
                CaseDocument(
                    doc_type=t,
                    filename=f"{DOC_TYPES[t]}（导入登记）",
                    content_type="",
                    path=None,
                    uploaded_by_id=getattr(actor, "id", None),
                )
            )


def get_document(doc_id: int, actor) -> CaseDocument:
    """A case document whose case is in the actor's data scope (404 / 403 otherwise)."""
    doc = db.session.get(CaseDocument, doc_id)
    if doc is None:
        raise NotFound("文书不存在")
    get_case(doc.case_id, actor)
    return doc


def send_document(doc: CaseDocument):
    """The download of an uploaded document (through app/storage); the caller has checked access."""
    if not doc.path:
        raise NotFound("该文书为导入登记，原件保存在源系统")
    return files.send(
        files.UPLOADS + doc.path,
        mimetype=doc.content_type,
        download_name=doc.filename,
        missing="文书文件不存在或已被移除",
    )


def submit_qualified(case: Case, actor) -> None:
    """合格案卷报送: the unit marks the qualified file as submitted."""
    from app.cases.review import latest_signed

    check_edit(case, actor)
    review = latest_signed(case)
    if review is None or review.conclusion not in ("excellent", "qualified"):
        raise ValidationFailed("只有评查结论为优秀或合格的案卷才能报送")
    if case.submitted_at is None:
        case.submitted_at = utcnow()


# ---------------------------------------------------------------------------------------------
# settings


def settings() -> dict:
    row = db.session.scalar(select(CaseSetting).order_by(CaseSetting.version.desc()).limit(1))
    return {**SETTING_DEFAULTS, **(row.values if row else {})}


def save_settings(actor, data: dict) -> CaseSetting:
    errors = {}
    values = {}
    due = str(data.get("qualified_due_date") or "").strip()
    if due:
        try:
            values["qualified_due_date"] = date.fromisoformat(due).isoformat()
        except ValueError:
            errors["qualified_due_date"] = "报送截止日期格式应为 2026-12-31"
    else:
        values["qualified_due_date"] = ""
    for key, label, hi in (("remind_days_before", "提前提醒天数", 60), ("referral_answer_days", "移送答复期限", 30)):
        raw = str(data.get(key) or "").strip()
        if not raw.isdigit() or not 0 <= int(raw) <= hi:
            errors[key] = f"{label}应为 0–{hi} 的整数"
        else:
            values[key] = int(raw)
    if errors:
        raise ValidationFailed("设置有误：" + "；".join(errors.values()), errors=errors)
    version = (db.session.scalar(select(func.max(CaseSetting.version))) or 0) + 1
    row = CaseSetting(version=version, values=values, updated_by_id=actor.id if actor else None)
    db.session.add(row)
    db.session.flush()
    return row


# ---------------------------------------------------------------------------------------------
# for app/appraisal (its data-source contract: fn(user_ids, start, end) -> {user_id: value})


def review_scores(user_ids, start, end) -> dict[int, float]:
    """Average signed 案卷评查 score of the cases each person handled (主办人), for reviews signed in
    [start, end); people without a signed review are left out. The per-unit and per-officer figures of
    any set of organisations are `app.cases.review.review_scores(org_ids, start, end)`."""
    from app.cases.review import review_scores as by_org

    ids = list(user_ids or [])
    if not ids:
        return {}
    officers = by_org(None, start, end, officer_ids=ids)["officers"]
    return {user_id: row["average"] for user_id, row in officers.items()}
