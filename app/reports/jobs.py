"""Background jobs with progress: documents, reports, imports, exports. A queue in the `jobs` table.

    job = start_job("report.generate", make_report, clue_id, user=current_user)
    db.session.commit()          # the job is queued with the caller's work, and runs once that commits
    ... the page polls GET /jobs/<id>/bar (htmx) or GET /jobs/<id> (JSON)

`fn(report, *args, **kwargs)` runs inside its own app context and session. It calls
`report(percent, message)` as it goes; each call is committed at once in its own short transaction
(a separate connection), so progress is visible while `fn`'s own work is still uncommitted. `fn`
returns a JSON-friendly dict (or None); a "url" key is where the result is fetched, a "message" key
the closing message. Its work and the "done" state commit together.

Where jobs run (JOBS_RUNNER):
- "worker": the job worker process (`flask ducha worker`, app/reports/worker.py), which `make run`
  (app/serve.py) starts next to gunicorn and the scheduler. `fn` must be a module-level function and its
  arguments JSON: the row holds `task` ("module:function") and `payload`.
- "thread" (default for `flask run` and the tests): a thread pool of the process that queued the job,
  started after the commit; the same `execute()` as the worker, so the same claiming, retries and states.

Failures: a DomainError's Chinese message fails the job at once (the data is wrong; retrying will not
help). Anything else is retried up to `max_attempts` times with exponential backoff (JOBS_BACKOFF_SECONDS
x 2^(attempt-1)), then shows as failed with a retry button (`retry_job`). A job runs under a lease that its
worker renews; a worker killed mid-job (SIGKILL, power loss) leaves the lease to expire, and the job is
taken again (the work it did was never committed). Jobs with the same `dedup_key` never run at once.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import and_, bindparam, exists, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased

from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from app.extensions import db
from app.models_base import UTCDateTime, utcnow
from app.reports.models import Job
from app.reports.txn import after_commit

log = logging.getLogger(__name__)

Report = Callable[[int, str], None]
ADMIN_ROLES = {"sys_admin"}
FAILED_MESSAGE = "后台任务执行失败，错误已记录，请联系管理员"
INTERRUPTED_MESSAGE = "任务多次中断或失败，已停止重试，可点击“重试”重新执行"

_lock = threading.Lock()
_executors: dict[int, ThreadPoolExecutor] = {}
_futures: set[Future] = set()
_local_fns: dict[int, Callable] = {}  # thread runner: callables that have no importable name (tests)


def task_name(fn: Callable) -> str | None:
    """'module:qualname' when `fn` can be imported by that name again (a worker can run it), else None."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not module or "<" in qualname or "." in qualname:
        return None
    try:
        return f"{module}:{qualname}" if getattr(importlib.import_module(module), qualname) is fn else None
    except (ImportError, AttributeError):
        return None


def resolve_task(name: str) -> Callable:
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


def runner(app: Flask | None = None) -> str:
    return (app or current_app).config.get("JOBS_RUNNER", "thread")


def start_job(
    kind: str,
    fn: Callable[..., dict | None],
    /,
    *args,
    user=None,
    dedup_key: str | None = None,
    max_attempts: int | None = None,
    **kwargs,
) -> Job:
    """Queue `fn(report, *args, **kwargs)` as `user`'s job; flush the row. It runs after the caller commits.

    `kind` and `fn` are positional-only, so `fn` may take keyword arguments of those names.
    """
    app = current_app._get_current_object()
    name = task_name(fn)
    if name is None and runner(app) == "worker":
        raise ValueError(f"job function {fn!r} must be a module-level function for the job worker")
    job = Job(
        kind=kind,
        status="queued",
        progress=0,
        message="排队等待执行",
        created_by_id=getattr(user, "id", None),
        task=name,
        payload={"args": list(args), "kwargs": kwargs} if name else None,
        attempts=0,
        max_attempts=max_attempts or int(app.config.get("JOBS_MAX_ATTEMPTS", 3)),
        dedup_key=dedup_key,
    )
    db.session.add(job)
    db.session.flush()
    if runner(app) == "thread":
        job_id = job.id
        local = None if name else (fn, args, kwargs)
        after_commit(lambda: _submit(app, job_id, local))
    return job


# ---------------------------------------------------------------- claiming and running (worker and threads)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _claimable(now):
    """Queued and due, or running under a lease that expired (its worker died); no twin running."""
    twin = aliased(Job)
    running_twin = exists().where(
        twin.dedup_key == Job.dedup_key, twin.id != Job.id, twin.status == "running", twin.locked_until >= now
    )
    return and_(
        or_(
            and_(Job.status == "queued", or_(Job.run_after.is_(None), Job.run_after <= now)),
            and_(Job.status == "running", Job.locked_until < now),
        ),
        or_(Job.dedup_key.is_(None), ~running_twin),
    )


_HAS_WORK = text(
    "SELECT 1 FROM jobs WHERE task IS NOT NULL AND ((status = 'queued' AND (run_after IS NULL OR run_after <= :now))"
    " OR (status = 'running' AND locked_until < :now)) LIMIT 1"
).bindparams(bindparam("now", type_=UTCDateTime()))


def has_work() -> bool:
    """Is there a job to claim? (The worker's idle poll: one small query on the status index.)"""
    return db.session.execute(_HAS_WORK, {"now": utcnow()}).first() is not None


def claim(job_id: int | None = None, *, me: str | None = None) -> int | None:
    """Take one job (the given one, or the oldest claimable with a task name) under a lease; commit."""
    me = me or worker_id()
    lease = timedelta(seconds=float(current_app.config.get("JOBS_LEASE_SECONDS", 30)))
    now = utcnow()
    if job_id is None:
        stmt = select(Job.id).where(_claimable(now), Job.task.is_not(None)).order_by(Job.id).limit(1)
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=Job)
        job_id = db.session.scalar(stmt)
        if job_id is None:
            db.session.rollback()
            return None
    taken = db.session.execute(
        update(Job)
        .where(Job.id == job_id, _claimable(now))
        .values(
            status="running",
            attempts=Job.attempts + 1,
            locked_by=me,
            locked_until=now + lease,
            started_at=now,
            message="开始执行",
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return job_id if taken == 1 else None


def renew(job_id: int, me: str) -> bool:
    """Extend the lease of a job this worker holds (heartbeat). False when it was taken from us."""
    lease = timedelta(seconds=float(current_app.config.get("JOBS_LEASE_SECONDS", 30)))
    return _set(job_id, _where_mine(me), locked_until=utcnow() + lease) == 1


def _where_mine(me: str):
    return and_(Job.__table__.c.status == "running", Job.__table__.c.locked_by == me)


def execute(app: Flask, job_id: int, *, me: str | None = None, local=None) -> str | None:
    """Claim and run one job to done, retry or failed. Returns the final status, None if not claimed."""
    me = me or worker_id()
    with app.app_context():
        try:
            claimed = claim(job_id, me=me)
        except SQLAlchemyError:
            log.exception("could not claim job %s", job_id)
            claimed = None
        finally:
            db.session.remove()
    return None if claimed is None else run_claimed(app, job_id, me, local=local)


def run_claimed(app: Flask, job_id: int, me: str, *, local=None) -> str | None:
    """Run a job this worker has claimed: done (with its work, in one commit), retry later, or failed."""
    attempt = max_attempts = 1
    with app.app_context():
        try:
            job = db.session.get(Job, job_id)
            attempt, max_attempts = job.attempts, job.max_attempts
            fn, args, kwargs = local or (resolve_task(job.task), *_payload(job))
            db.session.rollback()
            stop = _heartbeat(app, job_id, me)
            try:
                result = fn(_Reporter(job_id), *args, **kwargs)
            finally:
                stop.set()
            message = (result or {}).get("message") or "已完成"
            done = db.session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "running", Job.locked_by == me)
                .values(
                    status="done",
                    progress=100,
                    message=message[:300],
                    result=result,
                    finished_at=utcnow(),
                    locked_until=None,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if done != 1:  # our lease expired and another worker took the job: its run counts, not ours
                db.session.rollback()
                log.warning("job %s: lease lost, result discarded", job_id)
                return None
            db.session.commit()
            return "done"
        except Exception as exc:
            db.session.rollback()
            return _failed(app, job_id, me, exc, attempt, max_attempts)
        finally:
            db.session.remove()


def _payload(job: Job) -> tuple[list, dict]:
    payload = job.payload or {}
    return list(payload.get("args") or []), dict(payload.get("kwargs") or {})


def _failed(app: Flask, job_id: int, me: str, exc: Exception, attempt: int, max_attempts: int) -> str:
    if isinstance(exc, DomainError):
        log.info("job %s failed: %s", job_id, exc.message)
        _set(job_id, _where_mine(me), status="failed", message=exc.message[:300], finished_at=utcnow())
        return "failed"
    log.exception("job %s failed (attempt %s of %s)", job_id, attempt, max_attempts)
    if attempt < max_attempts:
        delay = float(app.config.get("JOBS_BACKOFF_SECONDS", 2)) * 2 ** (attempt - 1)
        _set(
            job_id,
            _where_mine(me),
            status="queued",
            run_after=utcnow() + timedelta(seconds=delay),
            locked_until=None,
            message=f"第 {attempt} 次执行失败，{delay:.0f} 秒后自动重试",
        )
        if runner(app) == "thread":
            _submit(app, job_id, _local_fns.get(job_id), delay=delay)
        return "retry"
    _set(job_id, _where_mine(me), status="failed", message=FAILED_MESSAGE, finished_at=utcnow(), locked_until=None)
    return "failed"


def _heartbeat(app: Flask, job_id: int, me: str) -> threading.Event:
    """Renew the lease every third of its length until the returned event is set."""
    stop = threading.Event()
    every = float(app.config.get("JOBS_LEASE_SECONDS", 30)) / 3

    def beat():
        with app.app_context():
            while not stop.wait(every):
                renew(job_id, me)

    threading.Thread(target=beat, name=f"ducha-job-lease-{job_id}", daemon=True).start()
    return stop


def _set(job_id: int, condition=None, **values) -> int:
    """Update the job row in its own transaction, outside the job function's session."""
    table = Job.__table__
    stmt = update(table).where(table.c.id == job_id)
    if condition is not None:
        stmt = stmt.where(condition)
    try:
        with db.engine.begin() as conn:
            return conn.execute(stmt.values(**values)).rowcount
    except SQLAlchemyError:  # progress is best effort (e.g. SQLite busy while the job writes)
        log.warning("could not update job %s", job_id, exc_info=True)
        return 0


class _Reporter:
    """The `report(percent, message)` callback given to a job function."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self._last: tuple[int, str] | None = None

    def __call__(self, progress: int, message: str = "") -> None:
        value = (max(0, min(100, int(progress))), (message or "")[:300])
        if value == self._last:
            return
        self._last = value
        # 100 is reserved for "done", which is committed together with the job's work.
        _set(self.job_id, progress=min(value[0], 99), message=value[1])


# ---------------------------------------------------------------- the thread runner (no worker process)


def _executor(app: Flask) -> ThreadPoolExecutor:
    with _lock:
        executor = _executors.get(id(app))
        if executor is None:
            workers = int(app.config.get("JOBS_MAX_WORKERS", 4))
            executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ducha-job")
            _executors[id(app)] = executor
        return executor


def _submit(app: Flask, job_id: int, local=None, delay: float = 0.0) -> None:
    if local is not None:
        _local_fns[job_id] = local
    future = _executor(app).submit(_run_local, app, job_id, delay)
    with _lock:
        _futures.add(future)
    future.add_done_callback(_forget)


def _run_local(app: Flask, job_id: int, delay: float = 0.0) -> None:
    if delay:
        time.sleep(delay)  # the backoff of a retry
    status = execute(app, job_id, local=_local_fns.get(job_id))
    deadline = time.monotonic() + 4 * float(app.config.get("JOBS_LEASE_SECONDS", 30))
    while status is None and _still_queued(app, job_id) and time.monotonic() < deadline:
        time.sleep(0.1)  # a job with the same dedup key is running: take this one when it has finished
        status = execute(app, job_id, local=_local_fns.get(job_id))
    if status in ("done", "failed"):
        _local_fns.pop(job_id, None)


def _still_queued(app: Flask, job_id: int) -> bool:
    with app.app_context():
        try:
            return db.session.scalar(select(Job.status).where(Job.id == job_id)) == "queued"
        finally:
            db.session.remove()


def _forget(future: Future) -> None:
    with _lock:
        _futures.discard(future)


def wait_for_jobs(timeout: float | None = None) -> bool:
    """Block until every job submitted to this process's threads (retries included) has finished."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _lock:
            pending = set(_futures)
        if not pending:
            return True
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        _, not_done = wait(pending, timeout=left)
        if not_done and deadline is not None and time.monotonic() >= deadline:
            return False


# ---------------------------------------------------------------- reading and retrying


def get_job(job_id: int, user) -> Job:
    """A job its creator (or a system administrator) may read."""
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound("后台任务不存在")
    if job.created_by_id != getattr(user, "id", None) and not (ADMIN_ROLES & set(getattr(user, "role_codes", ()))):
        raise PermissionDenied("只能查看自己发起的后台任务")
    return job


def retry_job(job: Job) -> Job:
    """Queue a failed job again (the retry button); flushes. The thread runner starts it after commit."""
    if job.status != "failed":
        raise Conflict("只有失败的后台任务可以重试")
    if job.task is None and job.id not in _local_fns:
        raise Conflict("该后台任务无法重试，请重新发起")
    job.status, job.attempts, job.progress = "queued", 0, 0
    job.run_after = job.locked_until = job.locked_by = job.finished_at = None
    job.message = "已重新排队"
    db.session.flush()
    if runner() == "thread":
        app, job_id = current_app._get_current_object(), job.id
        after_commit(lambda: _submit(app, job_id, _local_fns.get(job_id)))
    return job


def job_status(job: Job) -> dict:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "status_label": job.status_label,
        "progress": job.progress,
        "message": job.message,
        "finished": job.finished,
        "result_url": job.result_url,
        "attempts": job.attempts,
        "can_retry": job.status == "failed" and job.task is not None,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
