"""The scheduler process: timers fire at their due time, once, with two schedulers on one database; the
housekeeping pass (deadlines, round jobs) runs beside the timers and at each job's own cadence."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from app.engine import cli as engine_cli
from app.engine.models import InstanceEvent, ProcessInstance
from app.extensions import db
from app.inbox import actions
from tests.conftest import deploy_test_process, user

ROOT = Path(__file__).resolve().parent.parent


def test_two_scheduler_processes_fire_each_timer_exactly_once(app, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "DUCHA_INSTANCE_DIR": app.config["INSTANCE_DIR"],
        "DUCHA_SCHEDULER_TIMER_POLL": "0.2",
    }
    cmd = [sys.executable, "-m", "flask", "--app", "wsgi", "ducha", "scheduler"]
    logs = [tmp_path / f"scheduler-{n}.log" for n in range(2)]
    files = [log.open("wb") for log in logs]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT) for f in files]

    def output() -> str:
        return "\n".join(log.read_text(errors="replace")[-2000:] for log in logs)

    try:
        deadline = time.monotonic() + 240  # a busy shared machine starts processes slowly
        while not all("scheduler started" in log.read_text(errors="replace") for log in logs):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), output()
            time.sleep(0.2)
        with app.app_context():  # both are running: now the timers are created (1 s each)
            deploy_test_process("timer_short")
            ids = []
            for _ in range(6):
                ids.append(actions.start("timer_short", actor=user("hp_officer")).id)
                db.session.commit()
        while _completed(app, ids) < len(ids):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), output()
            time.sleep(0.2)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        for f in files:
            f.close()
    assert [p.returncode for p in procs] == [0, 0], output()  # SIGTERM stops both loops cleanly
    with app.app_context():
        counts = dict(
            db.session.execute(
                select(InstanceEvent.instance_id, func.count())
                .where(InstanceEvent.instance_id.in_(ids), InstanceEvent.kind == "timer")
                .group_by(InstanceEvent.instance_id)
            ).all()
        )
    assert counts == {i: 1 for i in ids}


def _completed(app, ids) -> int:
    with app.app_context():
        try:
            return db.session.scalar(
                select(func.count())
                .select_from(ProcessInstance)
                .where(ProcessInstance.id.in_(ids), ProcessInstance.status == "completed")
            )
        finally:
            db.session.remove()


def test_round_jobs_run_at_their_own_cadence(app, monkeypatch):
    ran: list[str] = []
    monkeypatch.setitem(engine_cli.ROUND_JOBS, "test.often", lambda now: ran.append("often"))
    monkeypatch.setitem(engine_cli.ROUND_JOBS, "test.rare", lambda now: ran.append("rare"))
    monkeypatch.setitem(engine_cli.ROUND_EVERY, "test.often", 0.0)
    monkeypatch.setitem(engine_cli.ROUND_EVERY, "test.rare", 3600.0)
    last_run: dict[str, float] = {}
    for _ in range(3):
        engine_cli.run_housekeeping(app, last_run=last_run)
    assert ran.count("often") == 3 and ran.count("rare") == 1
    # The open-case scans are not run every 5 s.
    assert engine_cli.ROUND_EVERY["clues.scan"] >= 60 and engine_cli.ROUND_EVERY["plans.execution"] >= 60
