"""数据交互子系统 (R2.6.1–R2.6.5, R7.5): connectors to the city's systems, SOE group reporting,
enrichment, reconciliation and data quality.

    client.py      HTTP client: token auth, paging, retries with backoff, rate limit, timeouts
    quality.py     the data standard: one validation schema per data set
    sync.py        the run: validate, map, idempotent upsert by (source, data set, source id, version)
    reconcile.py   核验比对: counts and checksums per day, an alert for the data administrator
    sources/       one module per source (zhzf, yjpt, sjzl, soe, enrich)
    fakes/         the fake upstream systems (a separate process on loopback: `flask ducha fakes`)
    services.py    runs as background jobs, schedules, rejected rows, quality figures
    routes.py      admin pages (/exchange), api.py the SOE reporting API (/api/v1/exchange)
"""

from __future__ import annotations


def init_app(app) -> None:
    """Blueprint, scheduler-round job and the `ducha fakes` command."""
    from app.engine.cli import register_job
    from app.exchange.routes import bp

    app.register_blueprint(bp)
    register_job("exchange.pull", _scheduled, every=float(app.config.get("EXCHANGE_SCHEDULE_EVERY", 300)))
    register_job("exchange.reconcile", _reconcile, every=3600.0)
    from app.cli import ducha
    from app.exchange.cli import fakes_command

    if "fakes" not in ducha.commands:
        ducha.add_command(fakes_command)


def _scheduled(now):
    from app.exchange.services import scheduled_pulls

    return scheduled_pulls(now)


def _reconcile(now):
    from app.exchange.services import scheduled_reconciliation

    return scheduled_reconciliation(now)
