"""The job worker process: `flask --app wsgi ducha worker` (started by `make run` / app/serve.py).

Takes jobs from the `jobs` table (app/reports/jobs.py) and runs them in JOBS_WORKER_THREADS threads.
Claiming is `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL (several workers never take the same row
and never wait for each other) plus a conditional UPDATE that only succeeds on a claimable row, which
is also what makes it correct on SQLite (one writer at a time). An idle thread looks for work every
JOBS_POLL_SECONDS (0.25 s: one small indexed SELECT; a job that arrives waits that long at most).

SIGTERM/SIGINT: stop taking jobs, finish the running ones, exit. SIGKILL: the running jobs' leases
expire (JOBS_LEASE_SECONDS) and a worker takes them again; nothing they did was committed.

Recycling: a long-lived process that renders PDFs and recomputes whole tables grows (the allocator keeps
freed pages, libraries keep caches). After each job the worker collects garbage and hands free heap pages
back to the system (glibc `malloc_trim`); after JOBS_WORKER_MAX_JOBS jobs, or once its resident memory is
above JOBS_WORKER_MAX_RSS_MB, it stops taking jobs, finishes the running ones and exits with status 0.
app/serve.py, systemd (Restart=always) and compose (restart: unless-stopped) start a fresh one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import resource
import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.extensions import db
from app.reports import jobs

log = logging.getLogger(__name__)


def rss_mib() -> float:
    """This process's resident memory in MiB (/proc on Linux; elsewhere the peak, from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load_malloc_trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_malloc_trim = _load_malloc_trim()


def release_memory() -> None:
    """After a job: free its cycles of objects and give the heap's free pages back to the system."""
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)


class Recycler:
    """Counts finished jobs and says when the worker should retire (JOBS_WORKER_MAX_JOBS / _MAX_RSS_MB)."""

    def __init__(self, app: Flask):
        self.max_jobs = int(app.config.get("JOBS_WORKER_MAX_JOBS", 0) or 0)
        self.max_rss = float(app.config.get("JOBS_WORKER_MAX_RSS_MB", 0) or 0)
        self.done = 0
        self.reason: str | None = None
        self._lock = threading.Lock()

    def job_finished(self) -> bool:
        """Count one job; True when the worker should take no more."""
        release_memory()
        with self._lock:
            self.done += 1
            if self.reason is None:
                rss = rss_mib()
                if self.max_jobs and self.done >= self.max_jobs:
                    self.reason = f"{self.done} jobs done (JOBS_WORKER_MAX_JOBS={self.max_jobs})"
                elif self.max_rss and rss > self.max_rss:
                    self.reason = f"resident memory {rss:.0f} MiB (JOBS_WORKER_MAX_RSS_MB={self.max_rss:.0f})"
            return self.reason is not None


def run_worker(app: Flask, stop: threading.Event, threads: int | None = None) -> str | None:
    """Run worker threads until `stop` is set or the worker should be recycled; each finishes its current
    job first. Returns why it was recycled, None when stopped.

    The main thread looks for work with one cheap indexed query every JOBS_POLL_SECONDS and wakes the
    threads; a thread that finds nothing to claim sleeps until woken (or 5 s), so an idle worker costs
    a fraction of a percent of a core.
    """
    count = threads or int(app.config.get("JOBS_WORKER_THREADS", 2))
    poll = float(app.config.get("JOBS_POLL_SECONDS", 0.25))
    wake = threading.Event()
    recycler = Recycler(app)

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
            if recycler.job_finished():
                stop.set()  # the other threads finish the job they hold, then stop too

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
    return recycler.reason


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
        reason = run_worker(app, stop, threads)
        if reason:
            click.echo(f"job worker recycled: {reason}; exiting for a fresh process")
