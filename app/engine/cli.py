"""Engine commands: deploy the process files, run the scheduler, list incidents."""

from __future__ import annotations

import inspect
import logging
import signal
import threading
from collections.abc import Callable

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app.extensions import db
from app.models_base import utcnow

log = logging.getLogger(__name__)

# Domain jobs run in every scheduler round after the deadlines: name -> fn(now), one commit each.
ROUND_JOBS: dict[str, Callable] = {}


def round_job(name: str):
    """Mark `fn(now)` as a scheduler-round job (cheap, idempotent checks: warnings, sweeps); a module's
    `init_app` registers it with `register_jobs`."""

    def decorator(fn: Callable) -> Callable:
        fn.ducha_round_job = name
        return fn

    return decorator


def register_job(name: str, fn: Callable) -> None:
    """Register one scheduler-round job (from an init_app)."""
    ROUND_JOBS[name] = fn


def register_jobs(module) -> list[str]:
    """Register every function of `module` marked with `@round_job` (called from the module's init_app)."""
    names = []
    for value in vars(module).values():
        name = getattr(value, "ducha_round_job", None) if inspect.isfunction(value) else None
        if name:
            ROUND_JOBS[name] = value
            names.append(name)
    return names


def register(group: AppGroup) -> None:
    @group.command("deploy")
    @with_appcontext
    def deploy_command():
        """Deploy every BPMN file in workflows/ (with its forms and DMN) whose sources changed."""
        from app.engine.deploy import deploy_directory
        from app.engine.errors import SpecInvalid

        try:
            results = deploy_directory()
        except SpecInvalid as exc:
            db.session.rollback()
            for p in exc.problems:
                click.echo(f"ERROR {p}", err=True)
            raise SystemExit(1) from exc
        db.session.commit()
        for process_id, version, new in results:
            click.echo(f"{process_id}: v{version} {'deployed' if new else 'unchanged'}")

    @group.command("scheduler")
    @click.option("--once", is_flag=True, help="Run one round (catch-up) and exit.")
    @with_appcontext
    def scheduler_command(once: bool):
        """The one scheduler process: timers, task deadlines and reminders, heartbeat."""
        from apscheduler.schedulers.blocking import BlockingScheduler

        app = current_app._get_current_object()
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per round is noise
        run_round(app)  # catch up on whatever fell due while nothing was running
        if once:
            return
        scheduler = BlockingScheduler(timezone=app.config["TIMEZONE"])
        scheduler.add_job(
            run_round,
            "interval",
            args=[app],
            seconds=app.config["SCHEDULER_INTERVAL_SECONDS"],
            max_instances=1,
            coalesce=True,
            id="ducha-round",
        )

        from app.security import policy

        scheduler.add_job(policy.run_disable_idle, "cron", hour=2, args=[app], id="ducha-disable-idle")

        def stop(*_):
            threading.Thread(target=scheduler.shutdown, kwargs={"wait": False}, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        click.echo("scheduler started")
        scheduler.start()


def run_round(app) -> int:
    """One scheduler round in its own app context: timers, then task deadlines, then the heartbeat."""
    from app.audit import checkpoint
    from app.engine import timers
    from app.inbox import deadlines

    with app.app_context():
        fired = 0
        try:
            fired = timers.fire_due()
            deadlines.process_due()
        except Exception:
            db.session.rollback()
            log.exception("scheduler round failed")
        for name, job in list(ROUND_JOBS.items()):
            try:
                job(utcnow())
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("scheduler job %s failed", name)
        try:
            timers.heartbeat(fired)
            checkpoint.catch_up(db.session)  # the audit checkpoint file follows audit_head every round
        except Exception:
            db.session.rollback()
            log.exception("heartbeat failed")
        finally:
            db.session.remove()
        return fired
