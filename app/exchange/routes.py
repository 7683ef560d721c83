"""数据交换 pages: sources and runs (with the progress bar of the running job), rejected rows,
reconciliation, data quality, push batches, enrichment, and the SOE group's reporting page."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.enterprises.models import Enterprise
from app.errors import NotFound, ValidationFailed
from app.exchange import services
from app.exchange.models import ExchangeCursor, ExchangeRun, PushBatch, Submission
from app.exchange.quality import DATASETS
from app.exchange.sources import registry
from app.extensions import db
from app.portal.paging import paginate
from app.reports.models import Job
from app.security.access import permission_required

bp = Blueprint("exchange", __name__, url_prefix="/exchange")
ADMIN = "exchange.admin"
SUBMIT = "exchange.submit"


@bp.get("/")
@permission_required(ADMIN)
def index():
    sources = [c for c in registry().values() if c.datasets and c.code != "soe"]
    last = {}
    for run in db.session.scalars(select(ExchangeRun).order_by(ExchangeRun.id.desc()).limit(300)):
        last.setdefault((run.source, run.dataset), run)
    cursors = {(c.source, c.dataset): c.value for c in db.session.scalars(select(ExchangeCursor))}
    job_id = request.args.get("job", type=int)
    return render_template(
        "exchange/index.html",
        sources=sources,
        last=last,
        cursors=cursors,
        datasets=DATASETS,
        runs=services.recent_runs(limit=30),
        labels=_labels(),
        job=db.session.get(Job, job_id) if job_id else None,
    )


@bp.post("/run")
@permission_required(ADMIN)
def start():
    run = services.start_run(current_user, request.form.get("source", ""), request.form.get("dataset", ""))
    job = db.session.get(Job, run.job_id)
    db.session.commit()
    if request.headers.get("HX-Request"):
        return render_template("reports/_job_bar.html", job=job)
    return redirect(url_for(".index", job=job.id))


@bp.get("/runs/<int:run_id>")
@permission_required(ADMIN)
def run_detail(run_id: int):
    run = services.get_run(run_id)
    page = paginate(_run_rejects(run_id), request.args.get("page"))
    return render_template("exchange/run.html", run=run, page=page, datasets=DATASETS, labels=_labels())


def _run_rejects(run_id: int):
    from app.exchange.models import ExchangeReject

    return select(ExchangeReject).where(ExchangeReject.run_id == run_id).order_by(ExchangeReject.id)


def _labels() -> dict:
    return {c.code: c.label for c in registry().values()}


@bp.get("/rejects")
@permission_required(ADMIN)
def rejects():
    status = request.args.get("status", "open")
    status = status if status in ("open", "reprocessed", "ignored") else "open"
    page = paginate(services.rejects(status, request.args.get("source") or None), request.args.get("page"))
    return render_template("exchange/rejects.html", page=page, status=status, datasets=DATASETS, labels=_labels())


@bp.post("/rejects/<int:reject_id>/reprocess")
@permission_required(ADMIN)
def reprocess(reject_id: int):
    item = services.get_reject(reject_id)
    fixed = None
    text = request.form.get("row", "").strip()
    if text:
        try:
            fixed = json.loads(text)
        except ValueError as exc:
            raise ValidationFailed("更正后的数据不是有效的 JSON，请检查括号和引号") from exc
        if not isinstance(fixed, dict):
            raise ValidationFailed("更正后的数据应为一个 JSON 对象")
    services.reprocess(current_user, item, fixed)
    db.session.commit()
    flash("已重新处理并入库", "success")
    return redirect(url_for(".rejects"))


@bp.post("/rejects/<int:reject_id>/ignore")
@permission_required(ADMIN)
def ignore(reject_id: int):
    services.ignore(current_user, services.get_reject(reject_id))
    db.session.commit()
    flash("已忽略该数据", "info")
    return redirect(url_for(".rejects"))


@bp.get("/reconciliations")
@permission_required(ADMIN)
def reconciliations():
    return render_template(
        "exchange/reconciliations.html",
        rows=services.reconciliations(),
        datasets=DATASETS,
        labels=_labels(),
        sources=registry(),
    )


@bp.post("/reconciliations")
@permission_required(ADMIN)
def reconcile():
    from app.exchange.client import UpstreamError

    try:
        rows = services.reconcile_days(current_user, request.form.get("source", ""), request.form.get("dataset", ""))
    except UpstreamError as exc:
        raise ValidationFailed(f"核验失败：{exc.message}") from exc
    db.session.commit()
    bad = sum(1 for r in rows if not r.matched)
    flash(
        f"已核验 {len(rows)} 天" + (f"，{bad} 天不一致，已提醒数据管理员" if bad else "，全部一致"),
        "warning" if bad else "success",
    )
    return redirect(url_for(".reconciliations"))


@bp.get("/quality")
@permission_required(ADMIN)
def quality():
    return render_template("exchange/quality.html", rows=services.quality(), datasets=DATASETS)


@bp.get("/push")
@permission_required(ADMIN)
def push_index():
    from app.exchange.sources.sjzl import PUSH_DATASETS

    batches = db.session.scalars(select(PushBatch).order_by(PushBatch.id.desc()).limit(50)).all()
    return render_template("exchange/push.html", batches=batches, push_datasets=PUSH_DATASETS)


@bp.post("/push")
@permission_required(ADMIN)
def push():
    from app.exchange.sources import sjzl

    action, dataset = request.form.get("action", "push"), request.form.get("dataset", "enterprise")
    if dataset not in sjzl.PUSH_DATASETS:
        raise ValidationFailed("不支持推送该数据集")
    if action == "retry":
        batches = sjzl.retry_failed()
    elif action == "resend":
        batches = sjzl.resend_rejected(dataset)
    else:
        batches = sjzl.push(dataset)
    db.session.commit()
    acked = sum(1 for b in batches if b.status == "acked")
    flash(f"发送 {len(batches)} 批，{acked} 批已获回执", "success" if acked == len(batches) else "warning")
    return redirect(url_for(".push_index"))


@bp.get("/enrich")
@permission_required(ADMIN)
def enrich_index():
    from app.exchange.sources.enrich import missing_query

    page = paginate(missing_query(), request.args.get("page"))
    job_id = request.args.get("job", type=int)
    return render_template("exchange/enrich.html", page=page, job=db.session.get(Job, job_id) if job_id else None)


@bp.post("/enrich")
@permission_required(ADMIN)
def enrich_all():
    from app.exchange.sources.enrich import enrich_job
    from app.reports.jobs import start_job

    job = start_job("exchange.enrich", enrich_job, user=current_user, dedup_key="exchange:enrich")
    db.session.commit()
    if request.headers.get("HX-Request"):
        return render_template("reports/_job_bar.html", job=job)
    return redirect(url_for(".enrich_index", job=job.id))


@bp.post("/enterprises/<int:enterprise_id>/enrich")
@permission_required(ADMIN)
def enrich(enterprise_id: int):
    from app.exchange.client import UpstreamError
    from app.exchange.sources.enrich import enrich as do_enrich

    ent = db.session.get(Enterprise, enterprise_id)
    if ent is None:
        raise NotFound("企业不存在")
    try:
        learnt = do_enrich(ent)
    except UpstreamError as exc:
        raise ValidationFailed(f"信息完善失败：{exc.message}") from exc
    db.session.commit()
    flash(f"已完善 {len(learnt)} 项信息" if learnt else "第三方接口没有该企业的信息", "success" if learnt else "info")
    return redirect(url_for(".facts", enterprise_id=ent.id))


@bp.get("/enterprises/<int:enterprise_id>/facts")
@permission_required(ADMIN, "enterprise.read")
def facts(enterprise_id: int):
    from app.exchange.sources.enrich import FACT_LABELS, facts_of

    ent = db.session.get(Enterprise, enterprise_id)
    if ent is None:
        raise NotFound("企业不存在")
    return render_template("exchange/facts.html", ent=ent, facts=facts_of(ent.id), labels=FACT_LABELS)


# ---------------------------------------------------------------------------- the SOE group's page


@bp.get("/soe")
@permission_required(SUBMIT)
def soe():
    from app.exchange.sources import soe as soe_source

    group = soe_source.group_of(current_user)
    submissions = db.session.scalars(
        select(Submission).where(Submission.org_id == group.id).order_by(Submission.id.desc()).limit(20)
    ).all()
    page = paginate(soe_source.visible_records(current_user, "soe_inspection"), request.args.get("page"))
    return render_template(
        "exchange/soe.html",
        group=group,
        submissions=submissions,
        page=page,
        datasets=DATASETS,
        choices=soe_source.SUBMIT_DATASETS,
        report=None,
    )


@bp.post("/soe/upload")
@permission_required(SUBMIT)
def soe_upload():
    from app.exchange.sources import soe as soe_source

    dataset = request.form.get("dataset", "")
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ValidationFailed("请选择要上传的 Excel 或 CSV 文件", errors={"file": "请选择文件"})
    rows = soe_source.read_rows(dataset, file.filename, file.read())
    outcome = soe_source.submit(current_user, dataset, rows, channel="upload", filename=file.filename)
    if outcome.ok:
        db.session.commit()
        flash(f"报送成功：{outcome.submission.accepted} 行已入库", "success")
        return redirect(url_for(".soe"))
    db.session.rollback()  # nothing half-imported: the refusal alone is kept, with its report
    soe_source.record_refusal(outcome)
    db.session.commit()
    group = soe_source.group_of(current_user)
    submissions = db.session.scalars(
        select(Submission).where(Submission.org_id == group.id).order_by(Submission.id.desc()).limit(20)
    ).all()
    page = paginate(soe_source.visible_records(current_user, "soe_inspection"), None)
    return (
        render_template(
            "exchange/soe.html",
            group=group,
            submissions=submissions,
            page=page,
            datasets=DATASETS,
            choices=soe_source.SUBMIT_DATASETS,
            report=outcome.problems,
        ),
        422,
    )


@bp.get("/soe/template/<dataset>.xlsx")
@permission_required(SUBMIT)
def soe_template(dataset: str):
    from flask import Response

    from app.exchange.sources.soe import SUBMIT_DATASETS, columns
    from app.tabular.imports import template_xlsx

    if dataset not in SUBMIT_DATASETS:
        raise NotFound("模板不存在")
    return Response(
        template_xlsx(columns(dataset)),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename={dataset}-template.xlsx"},
    )
