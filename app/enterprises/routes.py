"""企业库 and 一企一档: search and the enterprise page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.enterprises import access, dossier
from app.enterprises.params import parse_date, parse_int
from app.enterprises.reference import districts, industries, industry_name
from app.extensions import db
from app.grading.services import today_local
from app.labels import services as labels
from app.portal.paging import paginate
from app.security.access import permission_required

bp = Blueprint("enterprises", __name__, url_prefix="/enterprises")
READ = ("enterprise.read", "enterprise.edit")
LABEL = ("enterprise.edit", "plan.draft", "clue.judge")  # officers who supervise enterprises


@bp.get("/")
@permission_required(*READ)
def index():
    f = access.Filters.from_args(request.args)
    page = paginate(access.search(current_user, f), request.args.get("page"))
    ctx = dict(page=page, filters=f, districts=districts(), industries=industries(), industry_name=industry_name)
    if request.headers.get("HX-Request"):
        return render_template("enterprises/_list.html", **ctx)
    return render_template("enterprises/index.html", **ctx)


@bp.get("/<int:enterprise_id>")
@permission_required(*READ)
def detail(enterprise_id: int):
    ent = access.get_visible(enterprise_id, current_user)
    today = today_local()
    library = [lab for lab in labels.library() if lab.active]
    return render_template(
        "enterprises/detail.html", ent=ent, d=dossier.build(ent, current_user, today), library=library, today=today
    )


@bp.post("/<int:enterprise_id>/labels")
@permission_required(*LABEL)
def add_label(enterprise_id: int):
    ent = access.get_visible(enterprise_id, current_user)
    expires_on = parse_date(request.form.get("expires_on"), field="expires_on", label="有效期")
    row = labels.add_manual(
        ent,
        current_user,
        label_id=parse_int(request.form.get("label_id"), field="label_id", label="标签") or 0,
        reason=request.form.get("reason", ""),
        expires_on=expires_on,
    )
    db.session.commit()
    flash(f"已添加标签「{row.label.name}」", "success")
    return redirect(url_for("enterprises.detail", enterprise_id=ent.id) + "#labels")


@bp.post("/<int:enterprise_id>/labels/<int:row_id>/remove")
@permission_required(*LABEL)
def remove_label(enterprise_id: int, row_id: int):
    ent = access.get_visible(enterprise_id, current_user)
    labels.remove(row_id, ent, current_user, reason=request.form.get("reason", ""))
    db.session.commit()
    flash("已移除标签", "success")
    return redirect(url_for("enterprises.detail", enterprise_id=ent.id) + "#labels")


from app.enterprises import imports as _imports  # noqa: E402  (the XLSX import's routes on this blueprint)

_imports.register(bp)
