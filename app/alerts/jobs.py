"""Scheduler-round jobs of the alert centre and the clues: each a function of an explicit `now`."""

from __future__ import annotations

from datetime import datetime

from app.engine.cli import round_job

JOB_NAMES = ("alerts.sweep", "clues.scan")


@round_job("alerts.sweep")
def sweep_job(now: datetime) -> int:
    """Close the alerts of tasks that are done."""
    from app.alerts.services import sweep

    return sweep(now)


@round_job("clues.scan")
def clue_scan_job(now: datetime) -> int:
    """Stalled and overdue clues become alerts."""
    from app.clues.warnings import scan

    return scan(now)
