"""Prometheus metrics at GET /metrics (text format 0.0.4).

Two kinds of figures:
- Per request, measured in the web process: `ducha_http_request_duration_seconds` (a histogram by
  endpoint, method and status class) and `ducha_http_requests_total`. Under gunicorn each worker is a
  process: with PROMETHEUS_MULTIPROC_DIR set (app/gunicorn_conf.py sets it), every worker writes its
  values to files there and a scrape adds them up (prometheus_client's multiprocess mode), so a scrape
  answered by any worker shows the whole node.
- From the database, computed at scrape time (so every node and every scrape agree, and nothing needs
  to run in the scheduler or the worker to be seen): open inbox tasks by role, overdue tasks, timer lag,
  the scheduler heartbeat age, the job queue by status, failed jobs, open incidents, login failures.
  Each is one indexed aggregate; a scrape every 15 s costs a few milliseconds of database time.

Access: with DUCHA_METRICS_TOKEN set, a request must carry `Authorization: Bearer <token>`; without it,
only loopback clients (127.0.0.0/8, ::1) are answered; anyone else gets 404. The client address is the
one ProxyFix resolved (DUCHA_PROXY_COUNT), so a request relayed by nginx for an outside client is not
taken for a loopback one.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from app.extensions import db
from app.models_base import utcnow

log = logging.getLogger(__name__)
bp = Blueprint("ops_metrics", __name__)

# Request figures live in their own registry (never the global one): tests build many apps per process.
REQUEST_REGISTRY = CollectorRegistry(auto_describe=True)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REQUEST_SECONDS = Histogram(
    "ducha_http_request_duration_seconds",
    "Time to answer a request, by Flask endpoint (the route), method and status class.",
    ["endpoint", "method", "status"],
    buckets=BUCKETS,
    registry=REQUEST_REGISTRY,
)
REQUESTS = Counter(
    "ducha_http_requests",
    "Requests answered, by Flask endpoint, method and status class.",
    ["endpoint", "method", "status"],
    registry=REQUEST_REGISTRY,
)
LOGIN_WINDOW_MINUTES = 15


def observe(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    labels = (endpoint or "unmatched", method, f"{status // 100}xx")
    REQUEST_SECONDS.labels(*labels).observe(seconds)
    REQUESTS.labels(*labels).inc()


def start_timer() -> None:
    g.ops_started = time.perf_counter()


def record_response(response):
    started = g.pop("ops_started", None)
    if started is not None and request.endpoint != "ops_metrics.metrics":
        observe(request.endpoint, request.method, response.status_code, time.perf_counter() - started)
    return response


class DatabaseCollector:
    """Gauges read from the database at scrape time (one collector per scrape, inside the app context)."""

    def collect(self):
        from app.audit.models import AuditEntry
        from app.engine.models import Incident, ProcessInstance, SchedulerHeartbeat
        from app.inbox.models import HumanTask
        from app.reports.models import Job

        now = utcnow()
        s = db.session
        inbox = GaugeMetricFamily("ducha_inbox_open_tasks", "Open inbox tasks by candidate role.", labels=["role"])
        for role, n in s.execute(
            select(HumanTask.candidate_role, func.count())
            .where(HumanTask.status == "open")
            .group_by(HumanTask.candidate_role)
        ):
            inbox.add_metric([role or "assigned"], n)
        yield inbox
        overdue = s.scalar(
            select(func.count()).where(
                HumanTask.status == "open", HumanTask.due_at < now, HumanTask.paused_at.is_(None)
            )
        )
        yield GaugeMetricFamily("ducha_inbox_overdue_tasks", "Open tasks past their due time.", value=overdue or 0)

        oldest = s.scalar(
            select(func.min(ProcessInstance.next_timer_at)).where(
                ProcessInstance.status == "running", ProcessInstance.next_timer_at.is_not(None)
            )
        )
        lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "ducha_timer_lag_seconds",
            "How long the most overdue timer has been due and not fired (0: none).",
            value=lag,
        )
        due = s.scalar(
            select(func.count()).where(ProcessInstance.status == "running", ProcessInstance.next_timer_at <= now)
        )
        yield GaugeMetricFamily("ducha_timers_due", "Running instances whose timer is due now.", value=due or 0)
        beat_age = GaugeMetricFamily(
            "ducha_scheduler_heartbeat_age_seconds", "Seconds since each scheduler process beat.", labels=["node"]
        )
        fired = CounterMetricFamily("ducha_timers_fired", "Timers fired, per scheduler process.", labels=["node"])
        for beat in s.scalars(select(SchedulerHeartbeat).where(SchedulerHeartbeat.beat_at > now - timedelta(days=1))):
            beat_age.add_metric([beat.node], max(0.0, (now - beat.beat_at).total_seconds()))
            fired.add_metric([beat.node], beat.fired_total or 0)
        yield beat_age
        yield fired

        queue = GaugeMetricFamily("ducha_jobs", "Background jobs by status.", labels=["status"])
        counts = dict(s.execute(select(Job.status, func.count()).group_by(Job.status)).all())
        for status in ("queued", "running", "done", "failed"):
            queue.add_metric([status], counts.get(status, 0))
        yield queue
        expired = s.scalar(select(func.count()).where(Job.status == "running", Job.locked_until < now))
        yield GaugeMetricFamily(
            "ducha_jobs_lease_expired", "Running jobs whose worker stopped renewing the lease.", value=expired or 0
        )
        oldest_job = s.scalar(select(func.min(Job.created_at)).where(Job.status == "queued"))
        yield GaugeMetricFamily(
            "ducha_jobs_oldest_queued_seconds",
            "Age of the oldest queued job (0: none).",
            value=max(0.0, (now - oldest_job).total_seconds()) if oldest_job else 0.0,
        )
        incidents = s.scalar(select(func.count()).where(Incident.status == "open"))
        yield GaugeMetricFamily("ducha_incidents_open", "Open process incidents.", value=incidents or 0)
        failures = s.scalar(
            select(func.count()).where(
                AuditEntry.action == "login.failed", AuditEntry.at >= now - timedelta(minutes=LOGIN_WINDOW_MINUTES)
            )
        )
        yield GaugeMetricFamily(
            "ducha_login_failures_recent",
            f"Failed logins in the last {LOGIN_WINDOW_MINUTES} minutes (from the audit log).",
            value=failures or 0,
        )
        locked = s.scalar(
            select(func.count()).where(AuditEntry.action == "login.failed", AuditEntry.at >= now - timedelta(days=1))
        )
        yield GaugeMetricFamily("ducha_login_failures_day", "Failed logins in the last 24 hours.", value=locked or 0)


def _client_allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN") or ""
    if token:
        header = request.headers.get("Authorization", "")
        return header[:7].lower() == "bearer " and hmac.compare_digest(header[7:].strip().encode(), token.encode())
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def render() -> bytes:
    """The whole exposition: this node's request figures (all workers) and the database gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_RequestFigures())
    registry.register(DatabaseCollector())
    try:
        return generate_latest(registry)
    finally:
        db.session.rollback()


class _RequestFigures:
    def collect(self):
        yield from REQUEST_REGISTRY.collect()


@bp.get("/metrics")
def metrics():
    if not _client_allowed():
        abort(404)
    return Response(render(), mimetype="text/plain; version=0.0.4; charset=utf-8")
