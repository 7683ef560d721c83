"""综合查一次: annual limits by grade (administrator-edited), counts across all departments, warnings,
over-limit filings, plan roll-ups (计划归集)."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import extract, func, select

from app.audit import services as audit
from app.checklimit.models import InspectionLimit, OverLimitFiling
from app.enterprises import access
from app.enterprises.models import Enterprise
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.models_base import utcnow
from app.plans.models import Inspection, MonthlyPlan, PlanItem
from app.security.scope import scope_for

DEFAULT_LIMITS = {"A": 6, "B": 4, "C": 2, "D": 1}


def limits() -> dict[str, int]:
    """Per grade; the table wins over the PLAN_ANNUAL_LIMITS setting, which wins over the defaults."""
    base = {**DEFAULT_LIMITS, **(current_app.config.get("PLAN_ANNUAL_LIMITS") or {})}
    for grade, n in db.session.execute(select(InspectionLimit.grade, InspectionLimit.annual_limit)):
        base[grade] = int(n)
    return base


def limit_for(grade: str | None) -> int:
    table = limits()
    return int(table.get(grade or "C", table.get("C", 2)))


def set_limits(actor, values: dict[str, str]) -> dict[str, int]:
    errors, parsed = {}, {}
    for grade in "ABCD":
        raw = (values.get(grade) or "").strip()
        if not raw.isdigit() or not 0 < int(raw) <= 52:
            errors[grade] = "请填写 1–52 之间的整数"
        else:
            parsed[grade] = int(raw)
    if errors:
        raise ValidationFailed("年度检查上限填写有误", errors=errors)
    for grade, n in parsed.items():
        row = db.session.get(InspectionLimit, grade) or InspectionLimit(grade=grade, annual_limit=n)
        row.annual_limit, row.updated_by_id, row.updated_at = n, actor.id, utcnow()
        db.session.add(row)
    db.session.flush()
    audit.record("checklimit.limits", actor=actor, object_type="inspection_limits", object_id="ABCD", detail=parsed)
    return parsed


def year_count(enterprise_id: int, year: int) -> dict:
    """Inspections of the enterprise this year by every department, and its limit."""
    ent = db.session.get(Enterprise, enterprise_id)
    n = (
        db.session.scalar(
            select(func.count(Inspection.id)).where(
                Inspection.enterprise_id == enterprise_id,
                Inspection.inspected_on >= date(year, 1, 1),
                Inspection.inspected_on <= date(year, 12, 31),
            )
        )
        or 0
    )
    limit = limit_for(ent.grade if ent else None)
    return {"count": n, "limit": limit, "over": n >= limit, "remaining": max(0, limit - n)}


def warning_for(enterprise: Enterprise, year: int) -> str | None:
    """查一次提醒: the message shown when planning or registering an inspection of this enterprise."""
    c = year_count(enterprise.id, year)
    if c["over"]:
        return (
            f"{enterprise.name}本年度已被各部门检查 {c['count']} 次，已达 {enterprise.grade or 'C'} 级企业年度上限"
            f" {c['limit']} 次：再次检查须办理超限检查报备并经审批"
        )
    if c["remaining"] == 1:
        return f"{enterprise.name}本年度已检查 {c['count']} 次，距年度上限 {c['limit']} 次仅余 1 次"
    return None


def record_inspection(
    enterprise: Enterprise, actor, *, on: date, kind: str, note: str | None, plan_item_id: int | None = None
) -> Inspection:
    """Register an inspection under the limit; over the limit it is refused (file an over-limit request)."""
    c = year_count(enterprise.id, on.year)
    if c["over"]:
        raise ValidationFailed(warning_for(enterprise, on.year) or "已达年度检查上限", errors={"over_limit": True})
    return _insert(enterprise, actor.org_id, actor.id, on=on, kind=kind, note=note, plan_item_id=plan_item_id)


def _insert(enterprise, org_id, user_id, *, on, kind, note, plan_item_id=None) -> Inspection:
    row = Inspection(
        enterprise_id=enterprise.id,
        org_id=org_id,
        inspected_on=on,
        kind=kind,
        note=(note or None),
        plan_item_id=plan_item_id,
        created_by_id=user_id,
    )
    db.session.add(row)
    db.session.flush()
    return row


def file_overlimit(
    enterprise: Enterprise, actor, *, on: date, kind: str, reason: str, plan_item_id: int | None = None
) -> OverLimitFiling:
    """超限检查报备: the explanation, then the approval process; the inspection is recorded once approved."""
    from app.checklimit import process

    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ValidationFailed("请填写超限检查的情况说明（不少于 10 个字）", errors={"reason": "说明过短"})
    c = year_count(enterprise.id, on.year)
    if not c["over"]:
        raise Conflict("该企业本年度检查次数尚未达到上限，无需报备，可直接登记检查")
    pending = db.session.scalar(
        select(OverLimitFiling.id).where(
            OverLimitFiling.enterprise_id == enterprise.id, OverLimitFiling.status == "pending"
        )
    )
    if pending:
        raise Conflict("该企业已有审批中的超限检查报备")
    filing = OverLimitFiling(
        enterprise_id=enterprise.id,
        org_id=actor.org_id,
        year=on.year,
        inspect_on=on,
        kind=kind,
        reason=reason,
        count_at_filing=c["count"],
        limit_at_filing=c["limit"],
        plan_item_id=plan_item_id,
        created_by_id=actor.id,
    )
    db.session.add(filing)
    db.session.flush()
    process.start_for(filing, actor)
    audit.record(
        "checklimit.file",
        actor=actor,
        object_type="overlimit_filing",
        object_id=filing.id,
        detail={"enterprise": enterprise.credit_code, "count": c["count"], "limit": c["limit"]},
    )
    return filing


def approve_filing(filing: OverLimitFiling, approver_login: str | None, note: str | None) -> Inspection:
    if filing.status != "pending":
        raise Conflict("报备已处理")
    filing.status, filing.decided_at, filing.decision_note = "approved", utcnow(), note
    row = _insert(
        filing.enterprise,
        filing.org_id,
        filing.created_by_id,
        on=filing.inspect_on,
        kind="overlimit",
        note=f"超限检查报备 #{filing.id}：{filing.reason[:200]}",
        plan_item_id=filing.plan_item_id,
    )
    filing.inspection_id = row.id
    if filing.plan_item_id:
        item = db.session.get(PlanItem, filing.plan_item_id)
        if item is not None and item.status != "done":
            item.status, item.done_on = "done", filing.inspect_on
    return row


def statistics(user, year: int, district: str = "") -> list[dict]:
    """Per enterprise in scope: inspections this year vs the limit (the over-limit ones first)."""
    counted = (
        select(Inspection.enterprise_id, func.count(Inspection.id).label("n"))
        .where(extract("year", Inspection.inspected_on) == year)
        .group_by(Inspection.enterprise_id)
        .subquery()
    )
    stmt = access.visible(
        user,
        select(Enterprise, func.coalesce(counted.c.n, 0)).outerjoin(counted, counted.c.enterprise_id == Enterprise.id),
    )
    if district:
        stmt = stmt.where(Enterprise.district_code == district)
    table = limits()
    rows = []
    for ent, n in db.session.execute(stmt.where(counted.c.n > 0)):
        lim = table.get(ent.grade or "C", 2)
        rows.append({"enterprise": ent, "count": int(n), "limit": lim, "over": n > lim, "at": n >= lim})
    rows.sort(key=lambda r: (-(r["count"] - r["limit"]), r["enterprise"].name))
    return rows


EXPORT_LIMIT = 50_000


def inspections(user, year: int, district: str = "") -> list[tuple]:
    """(Inspection, Enterprise, inspecting organisation's name) of the year in the user's scope, newest first."""
    from app.orgs.models import Organisation

    stmt = access.visible(
        user,
        select(Inspection, Enterprise, Organisation.name)
        .join(Enterprise, Enterprise.id == Inspection.enterprise_id)
        .join(Organisation, Organisation.id == Inspection.org_id)
        .where(extract("year", Inspection.inspected_on) == year),
    )
    if district:
        stmt = stmt.where(Enterprise.district_code == district)
    stmt = stmt.order_by(Inspection.inspected_on.desc(), Inspection.id.desc()).limit(EXPORT_LIMIT)
    return [tuple(r) for r in db.session.execute(stmt)]


def by_district(rows: list[dict]) -> list[dict]:
    """The per-enterprise statistics summed per district (enterprises inspected, inspections, at/over limit)."""
    from app.enterprises.reference import districts

    names = districts()
    out: dict[str, dict] = {}
    for r in rows:
        code = r["enterprise"].district_code or ""
        d = out.setdefault(
            code,
            {"district": names.get(code, "未分区"), "enterprises": 0, "inspections": 0, "at_limit": 0, "over_limit": 0},
        )
        d["enterprises"] += 1
        d["inspections"] += r["count"]
        d["at_limit"] += int(r["at"])
        d["over_limit"] += int(r["over"])
    return sorted(out.values(), key=lambda d: -d["inspections"])


def rollup(user, year: int, period: str = "month") -> list[dict]:
    """计划归集: planned and done plan items per district and month/quarter/year, in the user's scope."""
    scope = scope_for(user)
    stmt = (
        select(
            MonthlyPlan.org_id,
            MonthlyPlan.month,
            func.count(PlanItem.id),
            func.sum(func.cast(PlanItem.status == "done", db.Integer)),
            func.sum(func.cast(PlanItem.over_limit, db.Integer)),
        )
        .join(PlanItem, PlanItem.plan_id == MonthlyPlan.id)
        .where(MonthlyPlan.year == year, PlanItem.status != "cancelled")
        .group_by(MonthlyPlan.org_id, MonthlyPlan.month)
    )
    stmt = scope.filter_org(stmt, MonthlyPlan.org_id)
    out: dict[tuple, dict] = {}
    from app.orgs.models import Organisation

    names = {
        o.id: o.short_name or o.name
        for o in db.session.scalars(select(Organisation).where(Organisation.kind == "district"))
    }
    for org_id, month, total, done, over in db.session.execute(stmt):
        key = month if period == "month" else (month - 1) // 3 + 1 if period == "quarter" else year
        label = (
            f"{year}年{month}月"
            if period == "month"
            else f"{year}年第{key}季度"
            if period == "quarter"
            else f"{year}年"
        )
        row = out.setdefault(
            (org_id, key), {"org": names.get(org_id, ""), "period": label, "planned": 0, "done": 0, "over_limit": 0}
        )
        row["planned"] += int(total or 0)
        row["done"] += int(done or 0)
        row["over_limit"] += int(over or 0)
    return [out[k] for k in sorted(out, key=lambda k: (k[1], out[k]["org"]))]
