"""The job worker process: `flask --app wsgi ducha worker` (started by `make run` / app/serve.py).

Takes jobs from the `jobs` table (app/reports/jobs.py) and runs them in JOBS_WORKER_THREADS threads.
Claiming is `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL (several workers never take the same row
and never wait for each other) plus a conditional UPDATE that only succeeds on a claimable row, which
is also what makes it correct on SQLite (one writer at a time). An idle thread looks for work every
JOBS_POLL_SECONDS (0.25 s: one small indexed SELECT; a job that arrives waits that long at most).

SIGTERM/SIGINT: stop taking jobs, finish the running ones, exit. SIGKILL: the running jobs' leases
expire (JOBS_LEASE_SECONDS) and a worker takes them again; nothing they did was committed.
"""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.extensions import db
from app.reports import jobs

log = logging.getLogger(__name__)


def run_worker(app: Flask, stop: threading.Event, threads: int | None = None) -> None:
    """Run worker threads until `stop` is set; each finishes its current job first.

    The main thread looks for work with one cheap indexed query every JOBS_POLL_SECONDS and wakes the
    threads; a thread that finds nothing to claim sleeps until woken (or 5 s), so an idle worker costs
    a fraction of a percent of a core.
    """
    count = threads or int(app.config.get("JOBS_WORKER_THREADS", 2))
    poll = float(app.config.get("JOBS_POLL_SECONDS", 0.25))
    wake = threading.Event()

    def loop(n: int) -> None:
        me = f"{jobs.worker_id()}:{n}"
        while not stop.is_set():
            try:
                with app.app_context():
                    job_id = jobs.claim(me=me)
                    db.session.remove()
            except Exception:
                log.exception("job worker: could not look for work")
                job_id = None
            if job_id is None:
                wake.clear()
                wake.wait(5.0)
                continue
            jobs.run_claimed(app, job_id, me)

    workers = [threading.Thread(target=loop, args=(n,), name=f"ducha-worker-{n}") for n in range(count)]
    for t in workers:
        t.start()
    while not stop.is_set():
        try:
            with app.app_context():
                if jobs.has_work():
                    wake.set()
                db.session.remove()
        except Exception:
            log.exception("job worker: could not look for work")
        stop.wait(poll)
    wake.set()
    for t in workers:
        t.join()


def register(group) -> None:
    @group.command("worker")
    @click.option("--threads", type=int, default=None, help="Jobs run at once (default JOBS_WORKER_THREADS, 2).")
    @with_appcontext
    def worker_command(threads: int | None):
        """The job worker: documents, reports, exports and other slow work, off the web workers."""
        app = current_app._get_current_object()
        stop = threading.Event()

        def on_signal(*_):
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        click.echo("job worker started")
        run_worker(app, stop, threads)
