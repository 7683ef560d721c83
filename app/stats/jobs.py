"""Scheduler-round jobs of the statistics: the summary refresh, its nightly rebuild, the periodic reports."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from app.engine.cli import round_job


@round_job("stats.refresh", every=60.0)
def refresh_job(now: datetime) -> int:
    """Recompute the summary-table days changed since the last round."""
    from app.stats.summary import refresh

    return refresh()


NIGHTLY_HOUR = 2  # 02:00–02:59 Shanghai time
_rebuilt_on: set = set()


@round_job("stats.rebuild", every=1200.0)
def rebuild_job(now: datetime) -> int:
    """Once a night: rebuild the summary table (catches enterprise grades changed after their records).

    Only between 02:00 and 03:00 (Shanghai), once per day per scheduler: not when a scheduler starts (on the
    3-year data set a rebuild is minutes of database work, and it ran at every restart, in the middle of the
    day's load)."""
    if not current_app.config.get("STATS_NIGHTLY_REBUILD", not current_app.testing):
        return 0
    from app.engine.runtime import SHANGHAI

    local = now.astimezone(SHANGHAI)
    if local.hour != NIGHTLY_HOUR or local.date() in _rebuilt_on:
        return 0
    from app.engine.cli import heavy
    from app.stats.summary import rebuild

    _rebuilt_on.add(local.date())
    return heavy("stats.rebuild", rebuild) or 0


@round_job("stats.periodic", every=3600.0)
def periodic_job(now: datetime) -> int:
    """月报/季报/年报 of the periods just ended, once each (off in tests unless STATS_PERIODIC_REPORTS)."""
    if not current_app.config.get("STATS_PERIODIC_REPORTS", not current_app.testing):
        return 0
    from app.engine.cli import heavy
    from app.engine.runtime import SHANGHAI
    from app.stats.periodic import due_reports, existing

    due = [[kind, key] for kind, key in due_reports(now.astimezone(SHANGHAI).date()) if existing(kind, key) is None]
    return (heavy("stats.periodic", periodic_work, due) or 0) if due else 0


def periodic_work(due: list) -> int:
    """Generate the periodic reports `due` ([kind, key] pairs) not generated meanwhile (a PDF each)."""
    from app.stats.periodic import existing, generate

    made = 0
    for kind, key in due:
        if existing(kind, key) is None:
            generate(kind, key)
            made += 1
    return made
