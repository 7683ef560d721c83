"""Background jobs with progress: report generation, imports, exports.

    job = start_job("report.generate", make_report, clue_id, user=current_user)
    db.session.commit()          # the job starts only once this commits
    ... the page polls GET /jobs/<id>/bar (htmx) or GET /jobs/<id> (JSON)

`fn(report, *args, **kwargs)` runs in a worker thread inside its own app context and session.
It calls `report(percent, message)` as it goes; each call is committed at once in its own short
transaction (a separate connection), so progress is visible while `fn`'s own work is still
uncommitted. `fn` returns a JSON-friendly dict (or None); a "url" key is where the result is
fetched, a "message" key the closing message. Its work and the "done" state commit together;
an exception rolls its work back and marks the job failed (a DomainError's message is shown,
anything else is logged and shown as a generic failure).

Workers are threads of the web process (at most JOBS_MAX_WORKERS at once, default 4; more wait
as "queued"). A process that dies mid-job leaves the job "running": see `fail_interrupted_jobs`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from app.errors import DomainError, NotFound, PermissionDenied
from app.extensions import db
from app.models_base import utcnow
from app.reports.models import Job
from app.reports.txn import after_commit

log = logging.getLogger(__name__)

Report = Callable[[int, str], None]
ADMIN_ROLES = {"sys_admin"}
FAILED_MESSAGE = "后台任务执行失败，错误已记录，请联系管理员"

_lock = threading.Lock()
_executors: dict[int, ThreadPoolExecutor] = {}
_futures: set[Future] = set()


def start_job(kind: str, fn: Callable[..., dict | None], /, *args, user=None, **kwargs) -> Job:
    """Queue `fn(report, *args, **kwargs)` as `user`'s job; flush the row. It runs after the caller commits.

    `kind` and `fn` are positional-only, so `fn` may take keyword arguments of those names.
    """
    job = Job(kind=kind, status="queued", progress=0, message="排队等待执行", created_by_id=getattr(user, "id", None))
    db.session.add(job)
    db.session.flush()
    app = current_app._get_current_object()
    job_id = job.id
    after_commit(lambda: _submit(app, job_id, fn, args, kwargs))
    return job


def _executor(app: Flask) -> ThreadPoolExecutor:
    with _lock:
        executor = _executors.get(id(app))
        if executor is None:
            workers = int(app.config.get("JOBS_MAX_WORKERS", 4))
            executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ducha-job")
            _executors[id(app)] = executor
        return executor


def _submit(app: Flask, job_id: int, fn, args, kwargs) -> None:
    future = _executor(app).submit(_run, app, job_id, fn, args, kwargs)
    with _lock:
        _futures.add(future)
    future.add_done_callback(lambda f: _forget(f))


def _forget(future: Future) -> None:
    with _lock:
        _futures.discard(future)


def wait_for_jobs(timeout: float | None = None) -> bool:
    """Block until every submitted job has finished (tests, orderly shutdown). True if all did."""
    with _lock:
        pending = set(_futures)
    _, not_done = wait(pending, timeout=timeout)
    return not not_done


def _set(job_id: int, **values) -> None:
    """Update the job row in its own transaction, outside the job function's session."""
    try:
        with db.engine.begin() as conn:
            conn.execute(update(Job.__table__).where(Job.__table__.c.id == job_id).values(**values))
    except SQLAlchemyError:  # progress is best effort (e.g. SQLite busy while the job writes)
        log.warning("could not record progress of job %s", job_id, exc_info=True)


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


def _run(app: Flask, job_id: int, fn, args, kwargs) -> None:
    with app.app_context():
        _set(job_id, status="running", started_at=utcnow(), message="开始执行")
        try:
            result = fn(_Reporter(job_id), *args, **kwargs)
            message = (result or {}).get("message") or "已完成"
            db.session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(status="done", progress=100, message=message[:300], result=result, finished_at=utcnow())
            )
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            if isinstance(exc, DomainError):
                message = exc.message
                log.info("job %s failed: %s", job_id, exc.message)
            else:
                message = FAILED_MESSAGE
                log.exception("job %s (%s) failed", job_id, getattr(fn, "__name__", fn))
            _set(job_id, status="failed", message=message[:300], finished_at=utcnow())
        finally:
            db.session.remove()


def get_job(job_id: int, user) -> Job:
    """A job its creator (or a system administrator) may read."""
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound("后台任务不存在")
    if job.created_by_id != getattr(user, "id", None) and not (ADMIN_ROLES & set(getattr(user, "role_codes", ()))):
        raise PermissionDenied("只能查看自己发起的后台任务")
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
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def fail_interrupted_jobs(older_than: timedelta = timedelta(hours=1)) -> int:
    """Mark jobs left queued/running by a process that died as failed; returns how many."""
    cutoff = utcnow() - older_than
    result = db.session.execute(
        update(Job)
        .where(Job.status.in_(("queued", "running")), Job.created_at < cutoff)
        .values(status="failed", message="任务因服务重启而中断，请重新发起", finished_at=utcnow())
    )
    return result.rowcount or 0
