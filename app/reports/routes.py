"""Pages and endpoints for documents (list, download, verify) and background jobs (status, progress bar)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.extensions import db
from app.portal import params
from app.portal.paging import paginate
from app.reports import background, jobs, samples, services
from app.reports.models import DOCUMENT_KINDS, DOCUMENT_STATUS
from app.security.access import permission_required
from app.storage import files

bp = Blueprint("reports", __name__)

# Anyone who works cases may read the documents in their scope; administrators without
# business roles may not (separation of duties; enforced in services.require_business_role).
READ_PERMISSIONS = services.BUSINESS_PERMISSIONS


@bp.get("/documents")
@permission_required(*READ_PERMISSIONS)
def index():
    args = request.args
    stmt = services.scoped_documents(
        current_user, kind=args.get("kind") or None, status=args.get("status") or None, q=args.get("q") or None
    )
    page = paginate(stmt, args.get("page"))
    job = None
    if args.get("job"):
        job = jobs.get_job(params.int_id(args.get("job"), "job"), current_user)
    return render_template(
        "reports/documents.html",
        page=page,
        kinds=DOCUMENT_KINDS,
        statuses=DOCUMENT_STATUS,
        job=job,
        demo=current_app.config["ENV_NAME"] != "production",
    )


@bp.post("/documents/sample")
@permission_required("process.start", "report.signoff")
def sample():
    """Demo: generate a sample investigation report for the user's organisation in the background."""
    if current_app.config["ENV_NAME"] == "production":
        abort(404)
    context = samples.investigation_report_context()
    job = background.start_document_generation(
        user=current_user,
        kind="investigation_report",
        title=context["title"],
        template="investigation_report.html",
        context=context,
        org_id=current_user.org_id,
        business_key=context["clue_no"],
    )
    db.session.commit()
    if request.headers.get("HX-Request"):
        return render_template("reports/_job_bar.html", job=job)
    return redirect(url_for(".index", job=job.id))


@bp.get("/documents/<int:doc_id>/download")
@permission_required(*READ_PERMISSIONS)
def download(doc_id: int):
    doc = services.get_document(doc_id, current_user)
    key = services.record_download(doc, current_user, ip=g.get("ip"))
    db.session.commit()
    name = (doc.number or doc.title).replace("/", "-")
    return files.send(
        key,
        mimetype="application/pdf",
        as_attachment=not request.args.get("inline"),
        download_name=f"{name}.pdf",
        max_age=0,
        missing="文书文件不存在或已被移除",
    )


@bp.route("/documents/verify", methods=["GET", "POST"])
@login_required
def verify():
    result = None
    errors: dict = {}
    status = 200
    if request.method == "POST":
        upload = request.files.get("file")
        limit = current_app.config["UPLOAD_MAX_BYTES"]
        data = upload.read(limit + 1) if upload and upload.filename else b""
        if not data:
            errors["file"] = "请选择要核验的 PDF 文件"
        elif len(data) > limit:
            errors["file"] = f"文件不能超过 {limit // (1024 * 1024)} MB"
        if errors:
            status = 422
        else:
            doc = services.verify_pdf(data)
            digest = services.sm3_hex(data)
            services.record_verification(current_user, doc, digest, ip=g.get("ip"))
            db.session.commit()
            result = {"doc": doc, "sm3": digest, "filename": upload.filename}
    return render_template("reports/verify.html", result=result, errors=errors), status


@bp.get("/jobs/<int:job_id>")
@login_required
def job_status(job_id: int):
    return jsonify(jobs.job_status(jobs.get_job(job_id, current_user)))


@bp.get("/jobs/<int:job_id>/bar")
@login_required
def job_bar(job_id: int):
    return render_template("reports/_job_bar.html", job=jobs.get_job(job_id, current_user))


@bp.post("/jobs/<int:job_id>/retry")
@login_required
def job_retry(job_id: int):
    """The retry button of a failed job: queue it again (its creator or a system administrator)."""
    job = jobs.retry_job(jobs.get_job(job_id, current_user))
    db.session.commit()
    if request.headers.get("HX-Request"):
        return render_template("reports/_job_bar.html", job=job)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(jobs.job_status(job))
    return redirect(request.referrer or url_for(".index", job=job.id))


from app.tabular import background as _exports  # noqa: E402  (large exports' downloads on this blueprint)

_exports.register(bp)
