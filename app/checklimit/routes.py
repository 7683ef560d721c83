"""综合查一次: limits, annual statistics, registering an inspection (warning, over-limit filing), roll-ups."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.checklimit import services
from app.checklimit.models import OverLimitFiling
from app.enterprises import access
from app.enterprises.models import Enterprise
from app.enterprises.params import parse_date, parse_int
from app.enterprises.reference import districts
from app.errors import ValidationFailed
from app.extensions import db
from app.grading.services import today_local
from app.security.access import permission_required

bp = Blueprint("checklimit", __name__, url_prefix="/checks")
READ = ("enterprise.read",)
RECORD = ("plan.draft", "clue.handle", "plan.approve")


@bp.get("/")
@permission_required(*READ)
def index():
    year = parse_int(
        request.args.get("year"), field="year", label="年度", default=today_local().year, low=2000, high=2100
    )
    district = request.args.get("district", "")
    rows = services.statistics(current_user, year, district)
    filings = db.session.scalars(
        access.visible(
            current_user, select(OverLimitFiling).join(Enterprise, Enterprise.id == OverLimitFiling.enterprise_id)
        )
        .order_by(OverLimitFiling.created_at.desc())
        .limit(50)
    ).all()
    period = request.args.get("period", "month")
    return render_template(
        "checklimit/index.html",
        year=year,
        rows=rows[:200],
        over=sum(1 for r in rows if r["at"]),
        limits=services.limits(),
        per_district=services.by_district(rows),
        filings=filings,
        districts=districts(),
        district=district,
        rollup=services.rollup(current_user, year, period),
        period=period,
    )


@bp.get("/inspections/export.<fmt>")
@permission_required(*READ)
def export_inspections(fmt: str):
    """检查记录 of the year (and district) in the user's scope, as XLSX (or CSV), names in place of codes."""
    from app.audit import services as audit
    from app.tabular import lists
    from app.tabular.export import send

    year = parse_int(
        request.args.get("year"), field="year", label="年度", default=today_local().year, low=2000, high=2100
    )
    district = request.args.get("district", "")
    rows = services.inspections(current_user, year, district)
    names = districts()
    audit.record(
        "inspection.export",
        actor=current_user,
        object_type="inspection",
        object_id=len(rows),
        detail={"format": fmt, "rows": len(rows), "district": district or None, "date": str(year)},
    )
    response = send(
        lists.INSPECTIONS,
        [(i, e, org, names.get(e.district_code, "")) for i, e, org in rows],
        filename=f"{year}年检查记录",
        fmt=fmt,
        sheet="检查记录",
    )
    db.session.commit()
    return response


@bp.post("/limits")
@permission_required("process.admin", "plan.approve")
def set_limits():
    services.set_limits(current_user, request.form.to_dict())
    db.session.commit()
    flash("年度检查上限已更新", "success")
    return redirect(url_for("checklimit.index"))


@bp.get("/check")
@permission_required(*READ)
def check():
    """查一次提醒 (htmx): the warning for an enterprise before planning or registering a visit."""
    code = (request.args.get("enterprise") or "").strip().upper()
    ent = db.session.scalar(access.visible(current_user).where(Enterprise.credit_code == code)) if code else None
    if ent is None:
        return '<span class="text-muted small">请输入本辖区企业的统一社会信用代码</span>'
    c = services.year_count(ent.id, today_local().year)
    msg = (
        services.warning_for(ent, today_local().year) or f"{ent.name}本年度已检查 {c['count']} 次，上限 {c['limit']} 次"
    )
    css = "danger" if c["over"] else "warning" if c["remaining"] == 1 else "success"
    return f'<span class="text-{css} small" id="check-warning">{msg}</span>'


@bp.post("/inspections")
@permission_required(*RECORD)
def record():
    code = (request.form.get("enterprise") or "").strip().upper()
    ent = db.session.scalar(access.visible(current_user).where(Enterprise.credit_code == code))
    if ent is None:
        raise ValidationFailed("请填写本辖区企业的统一社会信用代码", errors={"enterprise": "企业不存在"})
    on = parse_date(request.form.get("inspected_on"), field="inspected_on", label="检查日期") or today_local()
    kind = request.form.get("kind") if request.form.get("kind") in ("plan", "clue", "other") else "other"
    if services.year_count(ent.id, on.year)["over"]:
        filing = services.file_overlimit(ent, current_user, on=on, kind=kind, reason=request.form.get("reason", ""))
        _record_knowledge(f"超限检查报备：{ent.name}（{on:%Y-%m-%d}）", ent)
        db.session.commit()
        flash(f"{ent.name}已达年度检查上限：超限检查报备已提交审批（{filing.status_label}），批准后登记检查", "warning")
    else:
        row = services.record_inspection(ent, current_user, on=on, kind=kind, note=request.form.get("note"))
        _record_knowledge(f"检查记录 {row.id}：{ent.name}（{on:%Y-%m-%d}）", ent)
        db.session.commit()
        flash(f"已登记{ent.name}的检查", "success")
    return redirect(url_for("checklimit.index"))


def _record_knowledge(ref: str, ent) -> None:
    """The 知识智库 entries picked on the form: recorded as used by this inspection (the entry's 引用记录)."""
    from app.knowledge import extras

    url = url_for("enterprises.detail", enterprise_id=ent.id)
    extras.record_picked(request.form.get("knowledge_ids"), current_user, context="inspection", ref=ref, url=url)
