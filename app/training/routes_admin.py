"""技能拉练 administration: the question bank (with XLSX import/export), 比武及练习规则管理, 模拟练习记录查询
and the statistics. Registered on the training blueprint by routes.py."""

from __future__ import annotations

from datetime import date

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.audit import services as audit
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation
from app.portal.paging import paginate
from app.security.access import permission_required
from app.security.scope import scope_for
from app.tabular.export import Column, send
from app.tabular.imports import read_xlsx, run_rows, template_xlsx
from app.training import bank, compete, practice, results
from app.training.models import DIFFICULTY, QTYPES, Competition, Question

ADMIN = ("training.admin",)
STATS = ("training.admin", "stats.read")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _save_form(save, message, back: str):
    """The POST of an administration form: save, commit, flash and go back to `back` (303); on a validation
    error roll back, flash the reason and return the field errors (the caller shows the form again, 422).
    Returns (errors, response or None)."""
    try:
        saved = save()
    except ValidationFailed as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return exc.errors or {}, None
    db.session.commit()
    flash(message(saved), "success")
    return {}, redirect(url_for(back), 303)


def _date(name: str) -> date | None:
    raw = request.args.get(name) or ""
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError as exc:
        raise ValidationFailed(f"日期格式不正确：{raw}（应为 年-月-日）", errors={name: "日期格式不正确"}) from exc


def _question_values(form) -> dict:
    return {**form.to_dict(), "options": [form.get(f"opt_{ch}", "") for ch in bank.LETTERS]}


RECORD_COLUMNS = [
    Column("姓名", "person", width=12),
    Column("单位", "unit", width=28),
    Column("练习题数", "answered", kind="number", width=10),
    Column("答对题数", "right", kind="number", width=10),
    Column("正确率（%）", "rate", kind="number", width=10),
    Column("首次练习", "first_at", kind="datetime", width=18),
    Column("最近练习", "last_at", kind="datetime", width=18),
]


def register(bp) -> None:
    # ----------------------------------------------------------------------------------- question bank
    @bp.get("/questions")
    @permission_required(*ADMIN)
    def questions():
        a = request.args
        stmt = bank.query(
            qtype=a.get("qtype", ""),
            law=a.get("law", ""),
            industry=a.get("industry", ""),
            difficulty=a.get("difficulty", type=int),
            keyword=a.get("q", "").strip(),
        )
        return render_template(
            "training/questions.html",
            page=paginate(stmt, a.get("page")),
            facets=bank.facets(),
            qtypes=QTYPES,
            difficulty=DIFFICULTY,
            args=a,
        )

    @bp.get("/questions/export.<fmt>")
    @permission_required(*ADMIN)
    def questions_export(fmt: str):
        a = request.args
        stmt = bank.query(qtype=a.get("qtype", ""), law=a.get("law", ""), industry=a.get("industry", ""))
        rows = list(db.session.scalars(stmt.limit(20000)))
        audit.record(
            "training.questions_export", actor=current_user, object_type="training_questions", object_id=len(rows)
        )
        db.session.commit()
        return send(bank.EXPORT_COLUMNS, rows, filename="技能拉练题库", fmt=fmt, sheet="题库")

    @bp.post("/questions/<int:question_id>/active")
    @permission_required(*ADMIN)
    def question_active(question_id: int):
        q = bank.set_active(current_user, question_id, request.form.get("active") == "1")
        db.session.commit()
        flash(f"题目（编号 {q.id}）已{'启用' if q.active else '停用'}", "success")
        return redirect(url_for("training.question_form", question_id=q.id), 303)

    @bp.route("/questions/new", methods=["GET", "POST"])
    @bp.route("/questions/<int:question_id>", methods=["GET", "POST"])
    @permission_required(*ADMIN)
    def question_form(question_id: int | None = None):
        q = db.session.get(Question, question_id) if question_id else None
        if question_id and q is None:
            raise NotFound("题目不存在")
        errors, values = {}, None
        if request.method == "POST":
            values = _question_values(request.form)
            errors, done = _save_form(
                lambda: bank.save_question(current_user, values, q),
                lambda saved: f"已保存题目（编号 {saved.id}）",
                "training.questions",
            )
            if done:
                return done
        return render_template(
            "training/question_form.html",
            q=q,
            values=values,
            errors=errors,
            qtypes=QTYPES,
            difficulty=DIFFICULTY,
            letters=bank.LETTERS,
        ), (422 if errors else 200)

    @bp.get("/questions/import")
    @permission_required(*ADMIN)
    def questions_import_form():
        return render_template("training/import.html", report=None, columns=bank.IMPORT_COLUMNS)

    @bp.get("/questions/import-template.xlsx")
    @permission_required(*ADMIN)
    def questions_import_template():
        return Response(
            template_xlsx(bank.IMPORT_COLUMNS, bank.IMPORT_EXAMPLE),
            mimetype=XLSX,
            headers={"Content-Disposition": "attachment; filename=training-questions-template.xlsx"},
        )

    @bp.post("/questions/import")
    @permission_required(*ADMIN)
    def questions_import():
        file = request.files.get("file")
        rows = read_xlsx(file.read() if file else b"", bank.IMPORT_COLUMNS)
        seen: dict[str, int] = {}
        report = run_rows(rows, bank.IMPORT_COLUMNS, lambda row: bank.import_row(current_user, row, seen))
        if report.ok:
            audit.record(
                "training.questions_import",
                actor=current_user,
                object_type="training_questions",
                object_id=report.imported,
            )
            db.session.commit()
        else:
            db.session.rollback()  # nothing half-imported
        return render_template("training/import.html", report=report, columns=bank.IMPORT_COLUMNS), (
            200 if report.ok else 422
        )

    # ----------------------------------------------------------------------------------- rules
    @bp.get("/rules")
    @permission_required(*ADMIN)
    def rules():
        comps = list(db.session.scalars(select(Competition).order_by(Competition.starts_at.desc())))
        return render_template(
            "training/rules.html",
            comps=comps,
            settings=practice.settings(),
            history=practice.setting_history(),
            labels=practice.SETTING_LABELS,
            local=compete.local,
            qtypes=QTYPES,
            errors={},
        )

    @bp.post("/rules/practice")
    @permission_required(*ADMIN)
    def rules_practice():
        row = practice.save_settings(current_user, request.form.to_dict(), request.form.get("note", ""))
        db.session.commit()
        flash(f"练习规则已保存为第 {row.version} 版", "success")
        return redirect(url_for("training.rules"), 303)

    @bp.route("/rules/competitions/new", methods=["GET", "POST"])
    @bp.route("/rules/competitions/<int:comp_id>", methods=["GET", "POST"])
    @permission_required(*ADMIN)
    def competition_form(comp_id: int | None = None):
        comp = db.session.get(Competition, comp_id) if comp_id else None
        if comp_id and comp is None:
            raise NotFound("比武不存在")
        errors, values = {}, None
        if request.method == "POST":
            values = {
                **request.form.to_dict(),
                "laws": request.form.getlist("laws"),
                "eligible_org_ids": request.form.getlist("eligible_org_ids"),
            }
            errors, done = _save_form(
                lambda: compete.save_competition(current_user, values, comp),
                lambda saved: f"已保存比武「{saved.name}」的规则（第 {saved.version} 版）",
                "training.rules",
            )
            if done:
                return done
        orgs = db.session.scalars(
            select(Organisation)
            .where(Organisation.kind.in_(("city", "section", "district")))
            .order_by(Organisation.path)
        )
        return render_template(
            "training/competition_form.html",
            comp=comp,
            values=values,
            errors=errors,
            qtypes=QTYPES,
            facets=bank.facets(),
            orgs=list(orgs),
            local=compete.local,
        ), (422 if errors else 200)

    # ----------------------------------------------------------------------------------- records
    def _records():
        unit = request.args.get("unit", type=int)
        return practice.records(
            current_user,
            person=request.args.get("person", "").strip(),
            org_id=unit,
            start=_date("start"),
            end=_date("end"),
        )

    @bp.get("/records")
    @permission_required(*ADMIN)
    def records():
        scope = scope_for(current_user)
        units = db.session.scalars(
            scope.filter_org(select(Organisation), Organisation.id)
            .where(Organisation.kind.in_(("city", "section", "district", "street")))
            .order_by(Organisation.path)
            .limit(400)
        )
        return render_template(
            "training/records.html", rows=_records(), units=list(units), args=request.args, scope=scope
        )

    @bp.get("/records/export.<fmt>")
    @permission_required(*ADMIN)
    def records_export(fmt: str):
        rows = _records()
        audit.record(
            "training.records_export",
            actor=current_user,
            object_type="training_practice_records",
            object_id=len(rows),
            detail={k: request.args.get(k, "") for k in ("person", "unit", "start", "end")},
        )
        db.session.commit()
        return send(RECORD_COLUMNS, rows, filename="模拟练习记录", fmt=fmt, sheet="练习记录")

    # ----------------------------------------------------------------------------------- statistics
    @bp.get("/stats")
    @permission_required(*STATS)
    def stats():
        return render_template("training/stats.html", report=results.statistics(current_user))

    @bp.get("/stats.json")
    @permission_required(*STATS)
    def stats_json():
        report = results.statistics(current_user)
        rows = report["rows"]
        return jsonify(
            {
                "districts": [r["district"] for r in rows],
                "people": [r["people"] for r in rows],
                "average": [r["average"] for r in rows],
                "weak": [[{"law": w[0], "rate": w[1], "count": w[2]} for w in r["weak"]] for r in rows],
            }
        )
