"""Engine commands: deploy the process files, run the scheduler, list incidents."""

from __future__ import annotations

import inspect
import logging
import signal
import threading
import time
from collections.abc import Callable

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app.extensions import db
from app.models_base import utcnow

log = logging.getLogger(__name__)

# Domain jobs of the scheduler's housekeeping pass: name -> (fn(now), every seconds), one commit each.
ROUND_JOBS: dict[str, Callable] = {}
ROUND_EVERY: dict[str, float] = {}
# Jobs that look at every open case need not run every 5 s: warnings in working days, a daily recompute.
DEFAULT_EVERY = {"clues.scan": 300.0, "plans.execution": 300.0, "grading.nightly": 60.0}


def round_job(name: str, every: float | None = None):
    """Mark `fn(now)` as a job of the scheduler's housekeeping pass (idempotent checks: warnings, sweeps);
    a module's `init_app` registers it with `register_jobs`. `every`: run it at most once per that many
    seconds (default: every pass, SCHEDULER_INTERVAL; the scans of every open case: DEFAULT_EVERY)."""

    def decorator(fn: Callable) -> Callable:
        fn.ducha_round_job = name
        fn.ducha_round_every = every
        return fn

    return decorator


def register_job(name: str, fn: Callable, every: float | None = None) -> None:
    """Register one scheduler-round job (from an init_app)."""
    ROUND_JOBS[name] = fn
    ROUND_EVERY[name] = float(every if every is not None else DEFAULT_EVERY.get(name, 0.0))


def heavy(name: str, fn: Callable, *args):
    """Run the heavy part of a round job (a whole-table recomputation, documents) where it harms no timer.

    With the job worker (JOBS_RUNNER=worker: `make run`, production) it is queued as a background job and
    runs there; the scheduler process, whose other thread fires the timers, only decides that it is due
    (minutes of Python work in the scheduler held the interpreter: PT5S timers fired 70 s late while a
    grade recompute ran). One at a time per `name`: nothing is queued while one is queued or running.
    Elsewhere (tests, `flask run`) `fn(*args)` runs at once and its result is returned. `fn` must be a
    module-level function and `args` JSON values."""
    from sqlalchemy import select

    from app.reports.jobs import runner, start_job, task_name
    from app.reports.models import Job

    if runner() != "worker":
        return fn(*args)
    key = f"round:{name}"
    pending = select(Job.id).where(Job.dedup_key == key, Job.status.in_(("queued", "running"))).limit(1)
    if db.session.scalar(pending) is None:
        start_job("round.heavy", run_heavy, name, task_name(fn), list(args), dedup_key=key, max_attempts=2)
    return None


def run_heavy(report, name: str, task: str, args: list) -> dict:
    """The job worker's side of `heavy`."""
    from app.reports.jobs import resolve_task

    report(5, f"执行后台定时任务：{name}")
    result = resolve_task(task)(*args)
    log.info("round job %s done in the job worker: %s", name, result)
    return {"message": f"后台定时任务 {name} 已完成"}


def register_jobs(module) -> list[str]:
    """Register every function of `module` marked with `@round_job` (called from the module's init_app)."""
    names = []
    for value in vars(module).values():
        name = getattr(value, "ducha_round_job", None) if inspect.isfunction(value) else None
        if name:
            register_job(name, value, getattr(value, "ducha_round_every", None))
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
        """The scheduler process: timers at their due time, deadlines and reminders, round jobs, heartbeat."""
        from app.engine import scheduler

        app = current_app._get_current_object()
        run_round(app)  # catch up on whatever fell due while nothing was running
        if once:
            return
        stop = threading.Event()

        def on_signal(*_):
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        click.echo("scheduler started")
        scheduler.run(app, stop)


_fired = {"since_beat": 0}
_fired_lock = threading.Lock()


def count_fired(n: int) -> None:
    with _fired_lock:
        _fired["since_beat"] += n


def run_round(app) -> int:
    """One whole round (catch-up at start, `--once`, tests): due timers, then a housekeeping pass."""
    from app.engine import timers

    fired = 0
    with app.app_context():
        try:
            while True:  # everything due, batch after batch
                n = timers.fire_due()
                fired += n
                if not n:
                    break
        except Exception:
            db.session.rollback()
            log.exception("scheduler round failed")
        finally:
            db.session.remove()
    count_fired(fired)
    run_housekeeping(app)
    return fired


def run_housekeeping(app, *, last_run: dict[str, float] | None = None) -> None:
    """Task deadlines, the round jobs that are due by their cadence, the heartbeat and the audit checkpoint."""
    from app.audit import checkpoint
    from app.engine import timers
    from app.inbox import deadlines

    with app.app_context():
        try:
            deadlines.process_due()
        except Exception:
            db.session.rollback()
            log.exception("deadlines failed")
        for name, job in list(ROUND_JOBS.items()):
            every = ROUND_EVERY.get(name, 0.0)
            if last_run is not None and every and time.monotonic() - last_run.get(name, -1e12) < every:
                continue
            try:
                job(utcnow())
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("scheduler job %s failed", name)
            if last_run is not None:
                last_run[name] = time.monotonic()
        with _fired_lock:
            fired, _fired["since_beat"] = _fired["since_beat"], 0
        try:
            timers.heartbeat(fired)
            checkpoint.catch_up(db.session)  # the audit checkpoint file follows audit_head every pass
        except Exception:
            db.session.rollback()
            log.exception("heartbeat failed")
        finally:
            db.session.remove()
