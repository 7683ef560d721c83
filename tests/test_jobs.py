"""The job queue: retries with backoff, the retry button, leases that survive a SIGKILLed worker process,
and identical documents rendered once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.orgs.models import Organisation
from app.reports import background, jobs
from app.reports.models import Document, Job
from tests import jobs_support
from tests.conftest import user

ROOT = Path(__file__).resolve().parent.parent


def test_unexpected_failures_are_retried_with_backoff(ctx, tmp_path):
    job = jobs.start_job("export.test", jobs_support.fails_until, str(tmp_path), 3, user=user("hp_officer"))
    db.session.commit()
    assert jobs.wait_for_jobs(30)
    db.session.expire_all()
    assert (job.status, job.attempts, job.result["run"]) == ("done", 3, 3)
    assert job.task == "tests.jobs_support:fails_until" and job.payload == {"args": [str(tmp_path), 3], "kwargs": {}}


def test_exhausted_retries_fail_and_the_retry_button_runs_it_again(app, tmp_path, login_as):
    # No app context held across requests here: each test-client request must have its own `g`.
    with app.app_context():
        job = jobs.start_job(
            "export.test", jobs_support.fails_until, str(tmp_path), 4, user=user("hp_officer"), max_attempts=2
        )
        db.session.commit()
        job_id = job.id
    assert jobs.wait_for_jobs(30)
    owner = login_as("hp_officer")
    body = owner.get(f"/jobs/{job_id}").get_json()
    assert (body["status"], body["attempts"], body["message"], body["can_retry"]) == (
        "failed",
        2,
        jobs.FAILED_MESSAGE,
        True,
    )
    bar = owner.get(f"/jobs/{job_id}/bar").get_data(as_text=True)
    assert "重试" in bar and f"/jobs/{job_id}/retry" in bar
    assert login_as("xh_officer").post(f"/jobs/{job_id}/retry").status_code == 403
    resp = owner.post(f"/jobs/{job_id}/retry", headers={"HX-Request": "true"})
    assert resp.status_code == 200 and 'hx-trigger="every 1s"' in resp.get_data(as_text=True)  # polling again
    assert jobs.wait_for_jobs(30)
    body = owner.get(f"/jobs/{job_id}").get_json()
    assert body["status"] == "done" and body["message"] == "第 4 次成功"  # attempts 3 and 4 after the retry
    assert owner.post(f"/jobs/{job_id}/retry").status_code == 409  # only a failed job can be retried


def test_wrong_data_fails_at_once_with_its_message(ctx):
    job = jobs.start_job("import.test", jobs_support.invalid_data, user=user("hp_officer"))
    db.session.commit()
    assert jobs.wait_for_jobs(15)
    db.session.expire_all()
    assert (job.status, job.attempts, job.message) == ("failed", 1, "第 3 行统一社会信用代码格式错误")


def test_identical_documents_are_rendered_once(ctx):
    from app.security.scope import scope_for
    from app.stats import services as stats

    leader = user("hp_leader")
    context = {**stats.monthly(scope_for(leader), 2026, 11), "scope_label": "黄浦区"}
    kwargs = dict(kind="monthly_report", title="2026年11月监管执法统计报告", template="monthly_stats.html")
    ids = []
    for _ in range(3):
        job = background.start_document_generation(user=leader, org_id=leader.org_id, context=context, **kwargs)
        ids.append(job.id)
        db.session.commit()
    assert jobs.wait_for_jobs(240)  # generous: a busy shared machine renders slowly
    done = [db.session.get(Job, i) for i in ids]
    assert [j.status for j in done] == ["done"] * 3, [j.message for j in done]
    assert len({j.result["document_id"] for j in done}) == 1
    assert db.session.scalar(select(func.count()).select_from(Document)) == 1
    # Other data (another month's figures): another document.
    other = background.start_document_generation(
        user=leader,
        org_id=leader.org_id,
        context={**context, "figures": {**context["figures"], "started": 4}},
        **kwargs,
    )
    db.session.commit()
    assert jobs.wait_for_jobs(240)
    db.session.expire_all()
    assert other.result["document_id"] != done[0].result["document_id"]


def test_worker_process_killed_mid_job_loses_nothing(app, ctx, tmp_path, monkeypatch):
    """The real worker process takes the job, is SIGKILLed inside it; a second worker finishes it once."""
    code = "JOB-KILL"
    monkeypatch.setitem(app.config, "JOBS_RUNNER", "worker")  # as under `make run`: not in this process
    job = jobs.start_job("import.test", jobs_support.slow_then_quick, str(tmp_path), code, user=user("hp_officer"))
    db.session.commit()
    job_id = job.id
    env = _worker_env(app, DUCHA_JOBS_LEASE_SECONDS="1.5")
    cmd = WORKER_CMD
    log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115 (closed below)
    first = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
    second = None
    try:
        _until(lambda: (tmp_path / "run-1").exists() and _status(job_id)[0] == "running", 240, tmp_path / "worker.log")
        assert _status(job_id)[1] == 30  # its progress was visible while it ran
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert _status(job_id)[0] == "running" and _org_count(code) == 0  # nothing half-done was committed
        second = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
        # Taken again once the dead worker's lease expired.
        _until(lambda: _status(job_id)[0] == "done", 240, tmp_path / "worker.log")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # idle by now: stops at once (a test failure: kill it)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
        log.close()
    db.session.expire_all()
    row = db.session.get(Job, job_id)
    assert (row.status, row.attempts, row.result["run"]) == ("done", 2, 2)
    assert _org_count(code) == 1


def test_a_worker_over_its_memory_limit_exits_after_its_job_and_serve_starts_a_fresh_one(
    app, ctx, tmp_path, monkeypatch
):
    """JOBS_WORKER_MAX_RSS_MB=1: every worker process retires after one job (exit status 0); serve's
    supervisor starts the next; every job is done exactly once, each by a different process."""
    from app.serve import Restarting

    monkeypatch.setitem(app.config, "JOBS_RUNNER", "worker")
    codes = [f"JOB-RECYCLE-{n}" for n in range(3)]
    ids = []
    for code in codes:
        ids.append(jobs.start_job("import.test", jobs_support.record_once, code, user=user("hp_officer")).id)
    db.session.commit()
    env = _worker_env(app, DUCHA_JOBS_WORKER_MAX_RSS_MB="1")
    log_path = tmp_path / "worker.log"
    log = open(log_path, "ab")  # noqa: SIM115 (closed below)
    worker = Restarting(WORKER_CMD, env, pause=0.2, cwd=ROOT, stdout=log, stderr=log)
    worker.start()
    try:

        def all_done():
            worker.check()
            return all(_status(job_id)[0] == "done" for job_id in ids)

        _until(all_done, 240, log_path)
        worker.proc.wait(60)  # the last one retires too, after its job
        assert worker.proc.returncode == 0
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.proc.kill()
            worker.proc.wait(10)
        log.close()
    db.session.expire_all()
    rows = [db.session.get(Job, job_id) for job_id in ids]
    assert [(r.status, r.attempts) for r in rows] == [("done", 1)] * 3
    assert [_org_count(code) for code in codes] == [1, 1, 1]
    assert worker.starts >= 3 and len({r.result["pid"] for r in rows}) == 3
    assert log_path.read_text().count("job worker recycled: resident memory") >= 3


def test_serve_restarts_an_exited_child_but_not_once_stopping():
    from app.serve import Restarting

    child = Restarting([sys.executable, "-c", "pass"], dict(os.environ), pause=0.0)
    child.start()
    child.wait(30)
    child.check()  # it exited (as a recycled worker does): started again
    assert child.starts == 2
    child.wait(30)
    child.terminate()  # serve is stopping: an exit now is final
    child.check()
    assert child.starts == 2 and child.poll() == 0


def test_the_recycler_retires_after_max_jobs_or_never_with_zero(app, monkeypatch):
    from app.reports.worker import Recycler

    monkeypatch.setitem(app.config, "JOBS_WORKER_MAX_JOBS", 2)
    monkeypatch.setitem(app.config, "JOBS_WORKER_MAX_RSS_MB", 0)
    recycler = Recycler(app)
    assert recycler.job_finished() is False and recycler.reason is None
    assert recycler.job_finished() is True and recycler.reason.startswith("2 jobs done")
    monkeypatch.setitem(app.config, "JOBS_WORKER_MAX_JOBS", 0)  # 0 = never
    never = Recycler(app)
    assert not any(never.job_finished() for _ in range(5))


WORKER_CMD = [sys.executable, "-m", "flask", "--app", "wsgi", "ducha", "worker", "--threads", "1"]


def _worker_env(app, **extra: str) -> dict:
    """A real job worker process on the test database, polling often."""
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "DUCHA_INSTANCE_DIR": app.config["INSTANCE_DIR"],
        "DUCHA_JOBS": "worker",
        "DUCHA_JOBS_POLL_SECONDS": "0.1",
        **extra,
    }


def _status(job_id: int) -> tuple[str, int]:
    row = db.session.execute(select(Job.status, Job.progress).where(Job.id == job_id)).one()
    db.session.rollback()  # end the read: on SQLite an open reader keeps the worker from committing
    return row.status, row.progress


def _org_count(code: str) -> int:
    count = db.session.scalar(select(func.count()).select_from(Organisation).where(Organisation.code == code))
    db.session.rollback()
    return count


def _until(check, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out; worker log:\n" + log.read_text(errors="replace")[-3000:]
        time.sleep(0.1)
