"""The scheduler process (`flask --app wsgi ducha scheduler`): two loops that never wait for each other.

- Timers (main thread): sleeps until the earliest `next_timer_at` of a running instance (one indexed
  `min()`), looked at again at least every SCHEDULER_TIMER_POLL seconds (1 s) so a timer created in the
  meantime is seen, and fires what is due, one instance per transaction (`timers.fire_due`). Its cost is
  proportional to what is due; a PT5S timer fires within about a second of its time.
- Housekeeping (a thread): task deadlines and reminders every SCHEDULER_INTERVAL seconds (5), then the
  round jobs (`round_job(name, every=...)`: sweeps and warnings, each at its own cadence), the heartbeat
  and the audit checkpoint. A slow job (a nightly recompute, a scan of every open clue) delays only the
  next housekeeping pass, never a timer; a pass that takes longer than the interval is followed by the
  next one at once, never skipped or run twice at the same time.
- Nightly: disabling idle accounts at 02:00 (APScheduler cron).

Several scheduler processes may run against one PostgreSQL database: each instance is claimed with
`FOR UPDATE SKIP LOCKED` and fired in the transaction that holds the claim, so a timer fires once.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models_base import utcnow

log = logging.getLogger(__name__)


def next_due() -> datetime | None:
    from app.engine.models import ProcessInstance

    return db.session.scalar(
        select(func.min(ProcessInstance.next_timer_at)).where(
            ProcessInstance.status == "running", ProcessInstance.next_timer_at.is_not(None)
        )
    )


def timer_loop(app: Flask, stop: threading.Event) -> None:
    """Fire timers when they fall due until `stop` is set."""
    from app.engine import timers
    from app.engine.cli import count_fired

    poll = float(app.config.get("SCHEDULER_TIMER_POLL", 1.0))
    while not stop.is_set():
        wait = poll
        with app.app_context():
            try:
                due = next_due()  # one indexed query while nothing is due
                while due is not None and due <= utcnow() and not stop.is_set():
                    fired = timers.fire_due()  # a full batch may leave more due: go on until none fires
                    count_fired(fired)
                    due = next_due() if fired else None
                db.session.rollback()
                due = due or next_due()
                db.session.rollback()
                if due is not None:  # at least 0.1 s: a timer the engine does not yet see as due
                    wait = min(poll, max(0.1, (due - utcnow()).total_seconds()))
            except Exception:
                db.session.rollback()
                log.exception("timer loop failed")
            finally:
                db.session.remove()
        stop.wait(wait)


def housekeeping_loop(app: Flask, stop: threading.Event) -> None:
    """Deadlines, round jobs, heartbeat and checkpoint every SCHEDULER_INTERVAL seconds until `stop` is set."""
    from app.engine.cli import run_housekeeping

    interval = float(app.config["SCHEDULER_INTERVAL_SECONDS"])
    last_run: dict[str, float] = {}
    while not stop.is_set():
        started = time.monotonic()
        run_housekeeping(app, last_run=last_run)
        took = time.monotonic() - started
        if took > interval:
            log.info("housekeeping pass took %.1f s (interval %.0f s)", took, interval)
        stop.wait(max(0.0, interval - took))


def run(app: Flask, stop: threading.Event) -> None:
    """Both loops until `stop` is set (SIGTERM); the nightly jobs on APScheduler's cron."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from app.security import policy

    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    cron = BackgroundScheduler(timezone=app.config["TIMEZONE"])
    cron.add_job(policy.run_disable_idle, "cron", hour=2, args=[app], id="ducha-disable-idle")
    cron.start()
    house = threading.Thread(target=housekeeping_loop, args=(app, stop), name="ducha-housekeeping", daemon=True)
    house.start()
    try:
        timer_loop(app, stop)
    finally:
        cron.shutdown(wait=False)
        house.join(timeout=30)
