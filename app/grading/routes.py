"""等级展示 (distribution, month-over-month, drill-down) and model versions (edit, validate, dry run, publish)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.enterprises.reference import districts, industries
from app.extensions import db
from app.grading import display, services
from app.grading.events import last_nightly
from app.grading.models import GradeModel
from app.security.access import permission_required

bp = Blueprint("grading", __name__, url_prefix="/grading")
READ = ("enterprise.read", "enterprise.edit")
ADMIN = ("process.admin",)


@bp.get("/")
@permission_required(*READ)
def index():
    data = display.overview(current_user, services.today_local())
    return render_template(
        "grading/index.html", data=data, districts=districts(), industries=industries(), nightly=last_nightly()
    )


@bp.get("/models")
@permission_required(*ADMIN)
def models():
    rows = db.session.query(GradeModel).order_by(GradeModel.version.desc()).all()
    return render_template("grading/models.html", models=rows, published=services.published_model())


@bp.post("/models/new")
@permission_required(*ADMIN)
def new_model():
    draft = services.new_draft(current_user)
    db.session.commit()
    return redirect(url_for("grading.model", model_id=draft.id))


@bp.get("/models/<int:model_id>")
@permission_required(*ADMIN)
def model(model_id: int):
    return render_template("grading/model.html", model=services.get_model(model_id), errors={})


@bp.post("/models/<int:model_id>")
@permission_required(*ADMIN)
def save_model(model_id: int):
    model = services.get_model(model_id)
    services.save_draft(
        model,
        current_user,
        points_dmn=request.form.get("points_dmn", ""),
        grade_dmn=request.form.get("grade_dmn", ""),
        note=request.form.get("note"),
    )
    db.session.commit()
    flash("草稿已保存并通过校验；发布前请试运行", "success")
    return redirect(url_for("grading.model", model_id=model.id))


@bp.post("/models/<int:model_id>/dryrun")
@permission_required(*ADMIN)
def dryrun(model_id: int):
    model = services.get_model(model_id)
    summary = services.dry_run(model, current_user)
    db.session.commit()
    flash(f"试运行完成：{summary['total']} 家企业中 {summary['changed']} 家等级将变化", "info")
    return redirect(url_for("grading.model", model_id=model.id) + "#dryrun")


@bp.post("/models/<int:model_id>/publish")
@permission_required(*ADMIN)
def publish(model_id: int):
    model = services.get_model(model_id)
    result = services.publish(model, current_user)
    db.session.commit()
    flash(
        f"已发布第 {model.version} 版，重算 {result['scanned']} 家企业，{result['grade_changed']} 家等级变化", "success"
    )
    return redirect(url_for("grading.models"))
