"""案卷评查 administration pages: checklist versions, settings, the XLSX import, the 行刑衔接 list."""

from __future__ import annotations

import json
from io import BytesIO

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from app.cases import io, referrals, review, rules, services
from app.cases.models import ACCEPTANCE, CASE_TYPES, DOC_TYPES, STEP_NAMES, ReviewRuleSet
from app.cases.routes import EDIT, READ, bp
from app.errors import NotFound, ValidationFailed, act, attempt, done
from app.extensions import db
from app.security.access import permission_required
from app.tabular.export import send
from app.tabular.imports import template_xlsx

ADMIN = ("case.admin",)


@bp.get("/rules")
@permission_required(*ADMIN)
def rules_index():
    """Read only: the default checklists are created by the seed (``ducha seed-reference``) or ``rules_defaults``."""
    versions = {t: review.versions(t) for t in CASE_TYPES}
    return render_template(
        "cases/rules.html",
        case_types=CASE_TYPES,
        versions=versions,
        missing=[label for t, label in CASE_TYPES.items() if not versions[t]],
        checks=rules.CHECKS,
        doc_types=DOC_TYPES,
        cfg=services.settings(),
        errors={},
    )


@bp.post("/rules/defaults")
@permission_required(*ADMIN)
def rules_defaults():
    """Publish version 1 of the default checklist of every case type that has none (an explicit admin act)."""
    made = review.ensure_defaults(current_user)
    message = "已发布默认评查规则：" + "、".join(rs.type_label for rs in made) if made else "各程序类型已有评查规则"
    return done(message, url_for("cases.rules_index"))


@bp.get("/rules/<int:rule_set_id>")
@permission_required(*ADMIN)
def rule_set(rule_set_id: int):
    rs = db.session.get(ReviewRuleSet, rule_set_id)
    if rs is None:
        raise NotFound("评查规则版本不存在")
    return render_template(
        "cases/rule_set.html", rs=rs, checks=rules.CHECKS, doc_types=DOC_TYPES, step_names=STEP_NAMES
    )


@bp.route("/rules/<case_type>/edit", methods=["GET", "POST"])
@permission_required(*ADMIN)
def rules_edit(case_type: str):
    if case_type not in CASE_TYPES:
        raise NotFound("程序类型不存在")
    base = next(iter(review.versions(case_type)), None)
    start = base or rules.DEFAULTS[case_type]  # no version yet: the form starts from the defaults (nothing written)
    values = {
        "items": review.items_text(start),
        "limits": json.dumps(base.limits if base else start["limits"], ensure_ascii=False, indent=2),
        "note": "",
    }
    errors = {}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in ("items", "limits", "note")}

        def save():
            rs = review.save_draft(current_user, case_type, values["items"], values["limits"], values["note"])
            if request.form.get("publish"):
                review.publish(rs, current_user)
            return rs

        _, exc = attempt(save, lambda rs: f"已保存第 {rs.version} 版（{rs.status_label}）")
        if exc is None:
            return redirect(url_for("cases.rules_index"))
        errors = {**exc.errors, "_": exc.message}
    return render_template(
        "cases/rules_edit.html",
        case_type=case_type,
        type_label=CASE_TYPES[case_type],
        values=values,
        errors=errors,
        checks=rules.CHECKS,
        doc_types=DOC_TYPES,
        step_names=STEP_NAMES,
    ), (422 if errors else 200)


@bp.post("/rules/<int:rule_set_id>/publish")
@permission_required(*ADMIN)
def rules_publish(rule_set_id: int):
    rs = db.session.get(ReviewRuleSet, rule_set_id)
    if rs is None:
        raise NotFound("评查规则版本不存在")
    review.publish(rs, current_user)
    return done(f"{rs.type_label}评查规则第 {rs.version} 版已发布", url_for("cases.rules_index"))


@bp.post("/settings")
@permission_required(*ADMIN)
def settings_save():
    return act(lambda: services.save_settings(current_user, request.form), "设置已保存", url_for("cases.rules_index"))


@bp.route("/import", methods=["GET", "POST"])
@permission_required(*EDIT)
def import_page():
    report = None
    if request.method == "POST":
        file = request.files.get("file")
        try:
            report = io.import_cases(file.read() if file else b"", current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return render_template("cases/import.html", report=None), 422
        if report.ok:
            db.session.commit()
            flash(f"已导入 {report.imported} 件案件（已有编号的案件已更新）", "success")
            return redirect(url_for("cases.index"))
        db.session.rollback()
        return render_template("cases/import.html", report=report), 422
    return render_template("cases/import.html", report=report)


@bp.get("/import/template")
@permission_required(*EDIT)
def import_template():
    body = template_xlsx(io.COLUMNS, io.EXAMPLE)
    return send_file(
        BytesIO(body),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name="案件导入模板.xlsx",
    )


@bp.get("/referrals")
@permission_required(*READ)
def referral_list():
    acceptance = request.args.get("acceptance", "")
    overdue = request.args.get("overdue", "")
    q = (request.args.get("q") or "").strip()[:100]
    rows = referrals.list_rows(current_user, acceptance=acceptance, overdue=overdue, q=q)
    fmt = request.args.get("format")
    if fmt:
        return send(referrals.EXPORT_COLUMNS, rows, filename="行刑衔接", fmt=fmt, sheet="行刑衔接")
    return render_template(
        "cases/referrals.html",
        rows=rows,
        acceptance=acceptance,
        overdue=overdue,
        q=q,
        acceptance_names=ACCEPTANCE,
        days=services.settings()["referral_answer_days"],
    )
