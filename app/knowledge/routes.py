"""知识智库 pages: search and browse, entry pages, edit, review, versions, attachments, synonyms, import/export,
and the picker endpoint used by officers' forms."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from app.enterprises.reference import districts, industries, industry_name
from app.errors import ValidationFailed
from app.extensions import db
from app.knowledge import extras, io, search, services
from app.knowledge.models import LIBRARIES, STATUS_COLOURS, STATUSES, KnowledgeEntry, KnowledgeSynonym
from app.portal.paging import paginate
from app.security.access import permission_required
from app.security.scope import scope_for

bp = Blueprint("knowledge", __name__, url_prefix="/knowledge")
READ = ("knowledge.read",)
EDIT = ("knowledge.edit",)
ADMIN = ("knowledge.admin",)


def _names() -> dict:
    return {
        "libraries": LIBRARIES,
        "statuses": STATUSES,
        "status_colours": STATUS_COLOURS,
        "industry_names": industries(),
        "district_names": districts(),
        "industry_name": industry_name,
    }


@bp.get("/")
@permission_required(*READ)
def index():
    q = (request.args.get("q") or "").strip()[:100]
    filters = search.Filters.from_args(request.args)
    if q:
        page_no = max(1, int(request.args.get("page", "1")) if request.args.get("page", "1").isdigit() else 1)
        result = search.search(q, filters, limit=20, offset=(page_no - 1) * 20)
        return render_template(
            "knowledge/index.html",
            q=q,
            filters=filters,
            result=result,
            page_no=page_no,
            facets=result.facets,
            **_names(),
        )
    where = [KnowledgeEntry.status == "published", *filters.clauses()]
    stmt = select(KnowledgeEntry).where(*where).order_by(KnowledgeEntry.library, KnowledgeEntry.id)
    page = paginate(stmt, request.args.get("page"))
    return render_template(
        "knowledge/index.html",
        q="",
        filters=filters,
        result=None,
        page=page,
        facets=search.browse_facets(where),
        **_names(),
    )


@bp.get("/suggest")
@permission_required(*READ)
def suggest():
    """The picker: top 5 violations and guides (with the article) for the text typed."""
    text = (request.args.get("q") or "").strip()[:500]
    return jsonify({"items": search.suggest(text) if len(text) >= 2 else []})


@bp.get("/manage")
@permission_required(*EDIT)
def manage():
    status = request.args.get("status", "")
    library = request.args.get("library", "")
    stmt = select(KnowledgeEntry).where(scope_for(current_user).org_clause(KnowledgeEntry.org_id))
    if status in STATUSES:
        stmt = stmt.where(KnowledgeEntry.status == status)
    if library in LIBRARIES:
        stmt = stmt.where(KnowledgeEntry.library == library)
    page = paginate(stmt.order_by(KnowledgeEntry.updated_at.desc(), KnowledgeEntry.id.desc()), request.args.get("page"))
    return render_template("knowledge/manage.html", page=page, status=status, library=library, **_names())


@bp.get("/entries/<int:entry_id>")
@permission_required(*READ)
def entry(entry_id: int):
    item = services.get_entry(entry_id, current_user)
    return render_template(
        "knowledge/entry.html",
        e=item,
        labels=services.field_labels(item.library),
        versions=services.versions(item),
        related=services.related(item),
        attachments=extras.attachments(item),
        usages=extras.usages(item),
        contexts=extras.CONTEXTS,
        may_edit=current_user.can("knowledge.edit") and scope_for(current_user).contains(item.org),
        **_names(),
    )


def _form_data() -> dict:
    data = request.form.to_dict()
    data["industries"] = request.form.getlist("industries") or data.get("industries", "")
    return data


@bp.route("/entries/new", methods=["GET", "POST"])
@permission_required(*EDIT)
def new():
    library = request.values.get("library", "violation")
    if library not in LIBRARIES:
        abort(404)
    errors, data = {}, {}
    if request.method == "POST":
        data = _form_data()
        try:
            item = services.create_entry(current_user, library, data, note=data.get("note") or "新建")
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors or {"title": exc.message}
        else:
            db.session.commit()
            flash("已保存为草稿", "success")
            return redirect(url_for("knowledge.entry", entry_id=item.id))
    return render_template(
        "knowledge/edit.html",
        e=None,
        library=library,
        data=data,
        errors=errors,
        fields=services.FIELDS[library],
        **_names(),
    )


@bp.route("/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@permission_required(*EDIT)
def edit(entry_id: int):
    item = services.get_entry(entry_id, current_user)
    services.check_edit(item, current_user)
    errors = {}
    data = _as_form(item)
    if request.method == "POST":
        data = _form_data()
        try:
            services.update_entry(item, current_user, data, note=data.get("note") or "")
            related = [int(x) for x in (data.get("related") or "").replace("，", ",").split(",") if x.strip().isdigit()]
            services.set_relations(item, current_user, related)
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors or {"title": exc.message}
        else:
            db.session.commit()
            flash("已保存", "success")
            return redirect(url_for("knowledge.entry", entry_id=item.id))
    return render_template(
        "knowledge/edit.html",
        e=item,
        library=item.library,
        data=data,
        errors=errors,
        fields=services.FIELDS[item.library],
        **_names(),
    )


def _as_form(item: KnowledgeEntry) -> dict:
    data = {"title": item.title, "summary": item.summary, "tags": "、".join(item.tags or [])}
    data.update({k: v for k, v in (item.fields or {}).items() if k != "tiers"})
    data["tiers"] = "\n".join(
        f"{t['level']}｜{t['circumstance']}｜{t['penalty']}" for t in (item.fields or {}).get("tiers") or []
    )
    data["industries"] = item.industries or []
    data["year"] = item.year or ""
    data["district_code"] = item.district_code or ""
    data["related"] = ",".join(str(r.id) for r in services.related(item))
    return data


@bp.post("/entries/<int:entry_id>/submit")
@permission_required(*EDIT)
def submit(entry_id: int):
    item = services.get_entry(entry_id, current_user)
    services.submit(item, current_user, request.form.get("note", "")[:300])
    db.session.commit()
    flash("已提交审核，审核人将在待办中处理", "success")
    return redirect(url_for("knowledge.entry", entry_id=item.id))


@bp.post("/entries/<int:entry_id>/helpful")
@permission_required(*READ)
def helpful(entry_id: int):
    item = services.get_entry(entry_id, current_user)
    added = extras.mark_helpful(item, current_user)
    db.session.commit()
    flash("感谢反馈" if added else "您已标记过有帮助", "success" if added else "info")
    return redirect(url_for("knowledge.entry", entry_id=item.id))


@bp.post("/entries/<int:entry_id>/use")
@permission_required(*READ)
def use(entry_id: int):
    item = services.get_entry(entry_id, current_user)
    usage = extras.record_usage(
        item,
        current_user,
        context=request.form.get("context", "manual"),
        ref=request.form.get("ref", ""),
        url=request.form.get("url"),
    )
    db.session.commit()
    return jsonify({"id": usage.id, "article": item.article_label, "title": item.title})


@bp.get("/entries/<int:entry_id>/diff")
@permission_required(*READ)
def diff(entry_id: int):
    item = services.get_entry(entry_id, current_user)
    a = int(request.args.get("a", "0") or 0) if request.args.get("a", "0").isdigit() else 0
    b = int(request.args.get("b", "0") or 0) if request.args.get("b", "0").isdigit() else 0
    table = services.diff_table(item, a, b)
    return render_template("knowledge/diff.html", e=item, table=table, a=a, b=b, versions=services.versions(item))


@bp.post("/entries/<int:entry_id>/attachments")
@permission_required(*EDIT)
def upload(entry_id: int):
    item = services.get_entry(entry_id, current_user)
    file = request.files.get("file")
    if file is None:
        raise ValidationFailed("请选择要上传的文件", errors={"file": "未选择文件"})
    extras.store_attachment(item, current_user, filename=file.filename or "", data=file.read())
    db.session.commit()
    flash("附件已上传", "success")
    return redirect(url_for("knowledge.entry", entry_id=item.id))


@bp.get("/attachments/<int:attachment_id>")
@permission_required(*READ)
def attachment(attachment_id: int):
    from app.security.uploads import clean_filename
    from app.storage import files

    att = extras.get_attachment(attachment_id)
    services.get_entry(att.entry_id, current_user)
    inline = request.args.get("inline") == "1" and att.preview_kind in ("pdf", "image")
    return files.send(
        extras.attachment_key(att),
        mimetype=att.content_type,
        as_attachment=not inline,
        download_name=clean_filename(att.filename),
        missing="附件文件不存在或已被移除",
    )


@bp.get("/attachments/<int:attachment_id>/preview")
@permission_required(*READ)
def preview(attachment_id: int):
    att = extras.get_attachment(attachment_id)
    item = services.get_entry(att.entry_id, current_user)
    paragraphs = extras.docx_paragraphs(att) if att.preview_kind == "docx" else []
    return render_template("knowledge/preview.html", att=att, e=item, paragraphs=paragraphs)


@bp.route("/synonyms", methods=["GET", "POST"])
@permission_required(*ADMIN)
def synonyms():
    errors = {}
    if request.method == "POST":
        row = (
            db.session.get(KnowledgeSynonym, int(request.form["id"])) if request.form.get("id", "").isdigit() else None
        )
        try:
            extras.save_synonym(current_user, request.form.get("words", ""), row)
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash("同义词已保存，搜索立即生效", "success")
            return redirect(url_for("knowledge.synonyms"))
    return render_template("knowledge/synonyms.html", rows=extras.synonyms(), errors=errors, form=request.form)


@bp.post("/synonyms/<int:row_id>/delete")
@permission_required(*ADMIN)
def synonym_delete(row_id: int):
    row = db.session.get(KnowledgeSynonym, row_id) or abort(404)
    extras.delete_synonym(current_user, row)
    db.session.commit()
    flash("已删除同义词组", "success")
    return redirect(url_for("knowledge.synonyms"))


@bp.post("/reindex")
@permission_required(*ADMIN)
def reindex():
    n = extras.reindex_all()
    db.session.commit()
    flash(f"已重建 {n} 个条目的检索索引", "success")
    return redirect(url_for("knowledge.synonyms"))


@bp.route("/import", methods=["GET", "POST"])
@permission_required(*EDIT)
def import_page():
    report, library = None, request.values.get("library", "violation")
    if request.method == "POST":
        file = request.files.get("file")
        try:
            report = io.import_rows(current_user, library, file.read() if file else b"")
        except ValidationFailed as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return render_template("knowledge/import.html", report=None, library=library, **_names()), 422
        if report.ok:
            db.session.commit()
            flash(f"已导入 {report.imported} 条（草稿），请提交审核后发布", "success")
        else:
            db.session.rollback()
            return render_template("knowledge/import.html", report=report, library=library, **_names()), 422
    return render_template("knowledge/import.html", report=report, library=library, **_names())


@bp.get("/import/template/<library>")
@permission_required(*EDIT)
def import_template(library: str):
    from io import BytesIO

    body = io.template(library)
    return send_file(
        BytesIO(body),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{LIBRARIES[library]}导入模板.xlsx",
    )


@bp.get("/export.<fmt>")
@permission_required(*READ)
def export(fmt: str):
    from app.audit import services as audit
    from app.tabular.export import send

    filters = search.Filters.from_args(request.args)
    where = [search.visible_clause(scope_for(current_user)), *filters.clauses()]
    rows = io.export_rows(where)
    audit.record("knowledge.export", actor=current_user, object_type="knowledge_entries", object_id=len(rows))
    db.session.commit()
    return send(io.export_columns(), rows, filename="知识智库", fmt=fmt, sheet="知识智库")
