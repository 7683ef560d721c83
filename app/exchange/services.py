"""Data exchange services: start runs (background jobs), the scheduled pulls, rejected rows and their
re-processing, reconciliation of recent days, and the data-quality figures (R7.5)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.exchange.models import ExchangeReject, ExchangeRun, Reconciliation
from app.exchange.quality import DATASETS, validate
from app.exchange.sources import connector_for, registry
from app.exchange.sync import Counts, RowRejected, execute_run, new_run, take_rows
from app.extensions import db
from app.models_base import utcnow
from app.reports.jobs import start_job

ADMIN = "exchange.admin"


def require_admin(actor) -> None:
    if actor is None or not actor.can(ADMIN):
        raise PermissionDenied("只有数据管理员可以管理数据交换")


def _check(source: str, dataset: str):
    connector = connector_for(source)
    if dataset not in connector.datasets or not hasattr(connector, "fetch") or source == "soe":
        raise ValidationFailed("该数据来源没有此数据集", errors={"dataset": "数据集无效"})
    return connector


def start_run(actor, source: str, dataset: str, *, trigger: str = "manual") -> ExchangeRun:
    """Queue a pull as a background job (progress bar on the page); flushes. Runs after the commit."""
    if trigger == "manual":
        require_admin(actor)
    _check(source, dataset)
    busy = db.session.scalar(
        select(ExchangeRun.id).where(
            ExchangeRun.source == source,
            ExchangeRun.dataset == dataset,
            ExchangeRun.status.in_(("queued", "running")),
            ExchangeRun.job_id.is_not(None),
        )
    )
    if busy and trigger == "manual":
        raise Conflict("该数据集正在同步，请等待本次运行结束")
    run = new_run(source, dataset, trigger=trigger, user=actor)
    job = start_job("exchange.sync", run_job, run.id, user=actor, dedup_key=f"exchange:{source}:{dataset}"[:64])
    run.job_id = job.id
    return run


def run_job(report, run_id: int) -> dict:
    """The background job of one run (a retried job starts a fresh run of the same data set)."""
    run = db.session.get(ExchangeRun, run_id)
    if run is None:
        return {"message": "运行记录已不存在"}
    if run.status != "queued":
        again = new_run(run.source, run.dataset, trigger=run.trigger)
        again.job_id, again.created_by_id = run.job_id, run.created_by_id
        run = again
    run = execute_run(run, report)
    if run.status == "failed":
        raise ValidationFailed(f"同步失败：{run.message}")
    counts = f"获取 {run.fetched} 条，新增 {run.inserted}，更新 {run.updated}，未通过 {run.rejected}"
    return {"message": f"{run.status_label}：{counts}"}


def scheduled_pulls(now: datetime) -> int:
    """The scheduler-round job: queue each scheduled data set whose last run is older than its interval.
    On only where switched on (EXCHANGE_SCHEDULE / DUCHA_EXCHANGE_SCHEDULE=1): an installation without
    its upstream systems configured would log a failed run every interval."""
    import os

    from flask import current_app

    if not (current_app.config.get("EXCHANGE_SCHEDULE") or os.environ.get("DUCHA_EXCHANGE_SCHEDULE") == "1"):
        return 0
    queued = 0
    for connector in registry().values():
        if not connector.schedule_every:
            continue
        for dataset in connector.datasets:
            last = db.session.scalar(
                select(func.max(ExchangeRun.started_at)).where(
                    ExchangeRun.source == connector.code, ExchangeRun.dataset == dataset
                )
            )
            if last is None or last <= now - timedelta(seconds=connector.schedule_every):
                start_run(None, connector.code, dataset, trigger="schedule")
                queued += 1
    return queued


RECONCILED = (("zhzf", "inspection"), ("zhzf", "party"))


def scheduled_reconciliation(now: datetime) -> int:
    """The daily scheduler-round job: reconcile yesterday (UTC) of each reconciled data set, once."""
    import os

    from flask import current_app

    from app.exchange.client import UpstreamError
    from app.exchange.reconcile import reconcile

    if not (current_app.config.get("EXCHANGE_SCHEDULE") or os.environ.get("DUCHA_EXCHANGE_SCHEDULE") == "1"):
        return 0
    from app.exchange.reconcile import local_day

    day = local_day(now) - timedelta(days=1)  # yesterday, Beijing time
    done = 0
    for source, dataset in RECONCILED:
        held = db.session.scalar(
            select(Reconciliation.id).where(
                Reconciliation.source == source,
                Reconciliation.dataset == dataset,
                Reconciliation.period == day.isoformat(),
            )
        )
        if held:
            continue
        try:
            reconcile(source, dataset, day)
        except UpstreamError:  # the source is down: the next round tries again
            continue
        done += 1
    return done


def get_run(run_id: int) -> ExchangeRun:
    run = db.session.get(ExchangeRun, run_id)
    if run is None:
        raise NotFound("运行记录不存在")
    return run


def recent_runs(source: str | None = None, limit: int = 50) -> list[ExchangeRun]:
    stmt = select(ExchangeRun).order_by(ExchangeRun.id.desc()).limit(limit)
    if source:
        stmt = stmt.where(ExchangeRun.source == source)
    return list(db.session.scalars(stmt))


# ------------------------------------------------------------------------------- rejected rows


def rejects(status: str = "open", source: str | None = None):
    stmt = select(ExchangeReject).where(ExchangeReject.status == status).order_by(ExchangeReject.id.desc())
    return stmt.where(ExchangeReject.source == source) if source else stmt


def get_reject(reject_id: int) -> ExchangeReject:
    row = db.session.get(ExchangeReject, reject_id)
    if row is None:
        raise NotFound("被拒数据不存在")
    return row


def reprocess(actor, item: ExchangeReject, fixed: dict | None = None) -> ExchangeReject:
    """Run a rejected row (as corrected, or as it was after a mapping fix) through the mapping again."""
    require_admin(actor)
    if item.status != "open":
        raise Conflict("该数据已处理")
    if item.source.startswith("soe:"):
        raise ValidationFailed("国企报送数据请由集团更正后重新报送")
    row = dict(fixed if fixed is not None else item.row)
    norm, problems = validate(item.dataset, row)
    if problems:
        raise ValidationFailed("仍未通过校验：" + "；".join(p["message"] for p in problems))
    connector = connector_for(item.source)
    try:
        connector.prepare(item.dataset, norm)
    except RowRejected as exc:
        raise ValidationFailed("仍未通过映射校验：" + "；".join(r["message"] for r in exc.reasons)) from exc
    counts = Counts()
    take_rows(connector, item.dataset, [row], run_id=item.run_id, counts=counts)
    if counts.rejected:  # the error handler rolls the new reject row back with everything else
        raise ValidationFailed("仍未通过校验：版本号相同但内容不一致")
    item.status, item.row, item.resolved_at, item.resolved_by_id = "reprocessed", row, utcnow(), actor.id
    db.session.flush()
    return item


def ignore(actor, item: ExchangeReject) -> ExchangeReject:
    require_admin(actor)
    item.status, item.resolved_at, item.resolved_by_id = "ignored", utcnow(), actor.id
    db.session.flush()
    return item


# ------------------------------------------------------------------------------ reconciliation


def reconcile_days(actor, source: str, dataset: str, days: int = 3, today: date | None = None) -> list[Reconciliation]:
    from app.exchange.reconcile import reconcile

    if actor is not None:
        require_admin(actor)
    _check(source, dataset)
    from app.exchange.reconcile import local_day

    today = today or local_day(utcnow())
    return [reconcile(source, dataset, today - timedelta(days=n)) for n in range(days - 1, -1, -1)]


def reconciliations(limit: int = 100) -> list[Reconciliation]:
    return list(db.session.scalars(select(Reconciliation).order_by(Reconciliation.id.desc()).limit(limit)))


# ---------------------------------------------------------------------------------- quality (R7.5)


def quality(months: int = 6, today: date | None = None) -> list[dict]:
    """Per source, data set and month: received, missing, invalid, duplicate and late counts."""
    today = today or utcnow().date()
    start = date(today.year, today.month, 1)
    for _ in range(months - 1):
        start = (start - timedelta(days=1)).replace(day=1)
    since = datetime(start.year, start.month, 1, tzinfo=utcnow().tzinfo)
    table: dict[tuple, dict] = defaultdict(
        lambda: {"fetched": 0, "missing": 0, "invalid": 0, "duplicates": 0, "late": 0}
    )
    for run in db.session.scalars(select(ExchangeRun).where(ExchangeRun.started_at >= since)):
        cell = table[(run.source, run.dataset, run.started_at.strftime("%Y-%m"))]
        cell["fetched"] += run.fetched
        cell["duplicates"] += run.duplicates
        cell["late"] += run.late
    for item in db.session.scalars(select(ExchangeReject).where(ExchangeReject.created_at >= since)):
        cell = table[(item.source.split(":")[0], item.dataset, item.created_at.strftime("%Y-%m"))]
        kinds = {r.get("kind") for r in item.reasons or []}
        cell["missing" if "missing" in kinds else "invalid"] += 1
    rows = []
    for (source, dataset, month), cell in sorted(
        table.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1]), reverse=True
    ):
        try:
            label = connector_for(source).label
        except NotFound:
            label = source
        bad = cell["missing"] + cell["invalid"]
        rate = None if not cell["fetched"] else round(100 * (1 - bad / max(cell["fetched"], 1)), 1)
        rows.append(
            {
                "source": label,
                "dataset": DATASETS[dataset].label if dataset in DATASETS else dataset,
                "month": month,
                **cell,
                "pass_rate": rate,
            }
        )
    return rows
