"""统计分析 pages: charts and the monthly report (background job with a progress bar)."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.ops.replica import replica_reads, replica_view
from app.portal import params
from app.reports import jobs
from app.reports.background import start_document_generation
from app.security.access import permission_required
from app.security.scope import scope_for
from app.stats import services

bp = Blueprint("stats", __name__, url_prefix="/stats")


@bp.get("/")
@permission_required("stats.read")
def index():
    year, month = services.parse_month(request.args.get("month"))
    job = jobs.get_job(params.int_id(request.args.get("job"), "job"), current_user) if request.args.get("job") else None
    with replica_reads():  # the figures; the job just queued is read on the primary
        report = services.monthly(scope_for(current_user), year, month)
    return render_template(
        "stats/index.html",
        report=report,
        month=f"{year}-{month:02d}",
        job=job,
    )


@bp.get("/trend.json")
@permission_required("stats.read")
@replica_view
def trend():
    months = min(max(request.args.get("months", 12, type=int), 1), 36)
    return jsonify(services.trend(scope_for(current_user), months))


@bp.post("/monthly-report")
@permission_required("stats.read")
def monthly_report():
    year, month = services.parse_month(request.form.get("month"))
    scope = scope_for(current_user)
    with replica_reads():
        report = services.monthly(scope, year, month)
    job = start_document_generation(
        user=current_user,
        kind="monthly_report",
        title=f"{year}年{month}月监管执法统计报告",
        template="monthly_stats.html",
        context={**report, "title": f"{year}年{month}月监管执法统计报告", "scope_label": scope.label or "全市"},
        org_id=current_user.org_id,
        business_key=f"{year}-{month:02d}",
    )
    db.session.commit()
    if request.headers.get("HX-Request"):
        return render_template("reports/_job_bar.html", job=job)
    return redirect(url_for(".index", month=f"{year}-{month:02d}", job=job.id))


from app.stats import query_routes  # noqa: E402, F401  (监督统计分析 routes on this blueprint)
