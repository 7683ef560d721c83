"""效能督查 pages: results, ranking and comparison, the model versions, 效能识别 records and rules."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.efficiency import process, scoring, services
from app.efficiency.defaults import ensure_defaults
from app.efficiency.indicators import METRICS
from app.efficiency.models import DIMENSIONS, VIOLATION_STATUS, EffRule
from app.efficiency.rules import CATEGORIES, DETECTORS
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.portal import params
from app.reports.jobs import start_job
from app.security.access import permission_required
from app.security.scope import scope_for
from app.stats.services import parse_month

bp = Blueprint("efficiency", __name__, url_prefix="/efficiency")
READ = "stats.read"


def _model():
    model = scoring.published_model()
    if model is None:
        model = ensure_defaults()
        db.session.commit()
    return model


@bp.get("/")
@permission_required(READ)
def index():
    model = _model()
    periods = services.periods(model)
    period = request.args.get("period") or (periods[0] if periods else None)
    if period:
        params.month(period)  # a bad month -> a clear message
    level = "street" if request.args.get("level") == "street" else "district"
    scope = scope_for(current_user)
    rows = services.scores(scope, model, period, level) if period else []
    return render_template(
        "efficiency/index.html",
        model=model,
        periods=periods,
        period=period,
        level=level,
        rows=rows,
        can_admin=current_user.can(services.ADMIN_PERMISSION),
        improvements=services.improvements(scope),
        describe=process.describe,
    )


@bp.get("/ranking.json")
@permission_required(READ)
def ranking():
    model = _model()
    period = request.args.get("period") or next(iter(services.periods(model)), None)
    rows = services.scores(scope_for(current_user), model, period, "district") if period else []
    return jsonify(
        {
            "period": period,
            "pass_score": model.pass_score,
            "names": [s.org.short_name or s.org.name for s in rows],
            "totals": [s.final_total for s in rows],
        }
    )


@bp.get("/compare")
@permission_required(READ)
def compare():
    model = _model()
    available = services.periods(model)
    chosen = [p for p in request.args.getlist("period") if p in available] or sorted(available[:3])
    level = "street" if request.args.get("level") == "street" else "district"
    data = services.compare(scope_for(current_user), model, sorted(chosen), level)
    return render_template("efficiency/compare.html", data=data, available=available, chosen=chosen, level=level)


@bp.post("/compute")
@permission_required(READ)
def compute():
    services.require_admin(current_user)
    year, month = parse_month(request.form.get("period"))
    model = _model()
    job = start_job("efficiency.compute", scoring.compute_job, model.id, year, month, user=current_user)
    db.session.commit()
    flash("效能计算已在后台开始，完成后刷新本页查看", "info")
    return redirect(url_for(".index", period=f"{year}-{month:02d}", job=job.id))


@bp.post("/verify")
@permission_required(READ)
def verify():
    period = request.form.get("period") or ""
    params.month(period)
    n = services.start_verifications(_model(), period, actor=current_user)
    db.session.commit()
    flash(f"已向 {n} 个区下发效能核验待办", "success")
    return redirect(url_for(".index", period=period))


@bp.post("/improve")
@permission_required(READ)
def improve():
    period = request.form.get("period") or ""
    params.month(period)
    n = services.start_improvements(_model(), period, actor=current_user)
    db.session.commit()
    flash(f"已向 {n} 个未达标单位下发整改任务", "success")
    return redirect(url_for(".index", period=period))


# ---------------------------------------------------------------- model versions


@bp.get("/models")
@permission_required(READ)
def models():
    _model()
    return render_template("efficiency/models.html", models=services.models())


@bp.route("/models/<int:model_id>", methods=["GET", "POST"])
@permission_required(READ)
def model(model_id: int):
    m = services.get_model(model_id)
    errors, form = {}, None
    if request.method == "POST":
        try:
            services.save_draft(m, request.form, actor=current_user)
            db.session.commit()
            flash("模型草稿已保存", "success")
            return redirect(url_for(".model", model_id=m.id))
        except ValidationFailed as exc:
            db.session.rollback()
            m = services.get_model(model_id)
            errors, form = exc.errors or {"form": str(exc)}, request.form
    return render_template(
        "efficiency/model.html",
        m=m,
        metrics=METRICS,
        dimensions=DIMENSIONS,
        errors=errors,
        form=form,
        can_admin=current_user.can(services.ADMIN_PERMISSION),
    ), (422 if errors else 200)


@bp.post("/models/<int:model_id>/new-version")
@permission_required(READ)
def new_version(model_id: int):
    draft = services.new_version(services.get_model(model_id), actor=current_user)
    db.session.commit()
    return redirect(url_for(".model", model_id=draft.id))


@bp.post("/models/<int:model_id>/publish")
@permission_required(READ)
def publish(model_id: int):
    m = services.publish(services.get_model(model_id), actor=current_user)
    db.session.commit()
    flash(f"已发布第 {m.version} 版，之后的效能生成按此版本计算", "success")
    return redirect(url_for(".model", model_id=m.id))


# ---------------------------------------------------------------- 效能识别


@bp.get("/violations")
@permission_required(READ)
def violations():
    scope = scope_for(current_user)
    args = request.args
    rows = services.violations(
        scope,
        rule=args.get("rule") or None,
        category=args.get("category") or None,
        status=args.get("status") or None,
        org_id=params.int_id(args.get("org"), "org", required=False),
        user_id=params.int_id(args.get("user"), "user", required=False),
    )
    return render_template(
        "efficiency/violations.html",
        rows=rows,
        rules=services.rules(),
        categories=CATEGORIES,
        statuses=VIOLATION_STATUS,
        orgs=services.org_choices(scope, ("district", "street")),
        args=args,
    )


@bp.get("/violations/<int:violation_id>")
@permission_required(READ)
def violation(violation_id: int):
    v = services.get_violation(scope_for(current_user), violation_id)
    rule = db.session.query(EffRule).filter_by(code=v.rule_code, version=v.rule_version).first()
    return render_template("efficiency/violation.html", v=v, rule=rule, categories=CATEGORIES)


@bp.post("/violations/<int:violation_id>/dispute")
@permission_required(READ)
def dispute(violation_id: int):
    v = services.get_violation(scope_for(current_user), violation_id)
    try:
        process.start_dispute(v, actor=current_user, reason=request.form.get("reason", ""))
    except ValidationFailed as exc:
        db.session.rollback()
        v = services.get_violation(scope_for(current_user), violation_id)
        return render_template(
            "efficiency/violation.html",
            v=v,
            rule=None,
            categories=CATEGORIES,
            error=str(exc),
            reason=request.form.get("reason", ""),
        ), 422
    db.session.commit()
    flash("申诉已提交，由总队督查处裁决", "success")
    return redirect(url_for(".violation", violation_id=violation_id))


@bp.get("/rules")
@permission_required(READ)
def rules():
    _model()
    return render_template("efficiency/rules.html", rules=services.rules(), detectors=DETECTORS, categories=CATEGORIES)


@bp.post("/rules/<int:rule_id>")
@permission_required(READ)
def edit_rule(rule_id: int):
    rule = db.session.get(EffRule, rule_id)
    if rule is None:
        raise NotFound("规则不存在")
    try:
        new = services.edit_rule(rule, request.form.get("params", ""), actor=current_user)
    except ValidationFailed as exc:
        db.session.rollback()
        flash(f"“{rule.name}”未保存：{exc.errors.get('params') if exc.errors else exc}", "danger")
        return redirect(url_for(".rules"))
    db.session.commit()
    flash(f"“{new.name}”已保存为第 {new.version} 版", "success")
    return redirect(url_for(".rules"))


@bp.post("/rules/run")
@permission_required(READ)
def run_rules():
    services.require_admin(current_user)
    n = services.detect()
    db.session.commit()
    flash(f"识别完成，新增 {n} 条不规范行为记录", "success")
    return redirect(url_for(".violations"))
