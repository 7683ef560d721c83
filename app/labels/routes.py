"""风险标签: library, query (any/all, district, industry, grade), statistics, export."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.enterprises import access
from app.enterprises.params import form_row
from app.enterprises.reference import districts, industries, industry_name
from app.extensions import db
from app.grading.services import today_local
from app.labels import services
from app.labels.models import CATEGORIES, COLOURS, LabelDef
from app.portal.paging import paginate
from app.security.access import permission_required

bp = Blueprint("labels", __name__, url_prefix="/labels")
READ = ("enterprise.read", "enterprise.edit")
ADMIN = ("enterprise.edit", "process.admin")


def _query_args():
    ids = [int(x) for x in request.args.getlist("label") if x.isdigit()]
    return ids, ("all" if request.args.get("match") == "all" else "any"), access.Filters.from_args(request.args)


@bp.get("/")
@permission_required(*READ)
def query():
    ids, match, f = _query_args()
    today = today_local()
    stmt = services.query(current_user, label_ids=ids, match=match, filters=f, today=today)
    page = paginate(stmt, request.args.get("page"))
    held = {}
    for ent in page.items:
        held[ent.id] = services.labels_of(ent.id, today)
    by = "industry" if request.args.get("by") == "industry" else "district"
    return render_template(
        "labels/query.html",
        page=page,
        held=held,
        library=services.library(),
        ids=ids,
        match=match,
        filters=f,
        districts=districts(),
        industries=industries(),
        industry_name=industry_name,
        stats=services.statistics(current_user, today, by),
        by=by,
    )


@bp.get("/export.<fmt>")
@permission_required(*READ)
def export(fmt: str):
    from app.audit import services as audit
    from app.labels import export as out
    from app.tabular.export import send

    ids, match, f = _query_args()
    today = today_local()
    rows = out.rows(services.query(current_user, label_ids=ids, match=match, filters=f, today=today), today)
    audit.record(
        "label.export",
        actor=current_user,
        object_type="enterprise_labels",
        object_id=len(rows),
        detail={"labels": ids, "match": match, "district": f.district, "industry": f.industry},
    )
    db.session.commit()
    return send(out.COLUMNS, rows, filename="风险标签企业", fmt=fmt, sheet="风险标签")


@bp.get("/library")
@permission_required(*READ)
def library():
    return render_template(
        "labels/library.html", library=services.library(), categories=CATEGORIES, colours=COLOURS, errors={}
    )


@bp.post("/library")
@permission_required(*ADMIN)
def save():
    label = form_row(LabelDef, request.form, label="标签")
    saved = services.save_label(current_user, request.form.to_dict(), label)
    db.session.commit()
    flash(f"已保存标签「{saved.name}」", "success")
    return redirect(url_for("labels.library"))


@bp.post("/apply")
@permission_required(*ADMIN)
def apply():
    result = services.apply_auto_labels(today=today_local())
    db.session.commit()
    flash(f"已按规则更新自动标签：新增 {result['added']}，移除 {result['removed']}", "success")
    return redirect(url_for("labels.library"))
