"""Crash and restart behaviour with real processes: SIGKILL before commit, scheduler restarts, a
database that goes away. Subprocesses open the same test database as the suite."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.engine.models import InstanceEvent, ProcessInstance
from app.extensions import db
from app.inbox import actions
from app.inbox.models import HumanTask
from tests.conftest import deploy_test_process, user

ROOT = Path(__file__).resolve().parent.parent


def run_child(app, body: str) -> subprocess.CompletedProcess:
    """Run Python code in a fresh process against the suite's database; `app` is created for it."""
    code = textwrap.dedent(
        """
        import os, signal, sys
        from app import create_app
        app = create_app({"SQLALCHEMY_DATABASE_URI": os.environ["T_DB"], "INSTANCE_DIR": os.environ["T_DIR"],
                          "PASSWORD_ITERATIONS": 1000, "WTF_CSRF_ENABLED": False})
        ctx = app.app_context(); ctx.push()
        from app.extensions import db
        """
    ) + textwrap.dedent(body)
    env = {**os.environ, "T_DB": app.config["SQLALCHEMY_DATABASE_URI"], "T_DIR": app.config["INSTANCE_DIR"]}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _start_demo(app):
    with app.app_context():
        deploy_test_process("approval_demo")
        inst = actions.start("approval_demo", actor=user("hp_officer"))
        db.session.commit()
        row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == inst.id))
        return inst.id, row.id, inst.lock_version


def test_worker_killed_between_update_and_commit(app):
    inst_id, task_id, version = _start_demo(app)
    child = run_child(
        app,
        f"""
        from app.inbox import actions
        from app.inbox.models import HumanTask
        from app.auth.models import User
        from sqlalchemy import select
        row = db.session.get(HumanTask, {task_id})
        me = db.session.scalar(select(User).where(User.login == "hp_officer"))
        actions.complete(row, me, action="complete", form_data={{"subject": "崩溃测试", "amount": 1, "category": "a"}})
        db.session.flush()
        print("flushed", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "flushed" in child.stdout
    with app.app_context():
        db.session.expire_all()
        inst = db.session.get(ProcessInstance, inst_id)
        row = db.session.get(HumanTask, task_id)
        assert inst.lock_version == version and row.status == "open"  # wholly before the act
        assert db.session.scalar(select(func.count(HumanTask.id))) == 1
        actions.complete(
            row, user("hp_officer"), action="complete", form_data={"subject": "重新提交", "amount": 1, "category": "a"}
        )
        db.session.commit()
        assert db.session.scalar(select(func.count(HumanTask.id)).where(HumanTask.step == "review")) == 1


def _start_short_timer(app):
    with app.app_context():
        deploy_test_process("timer_short")
        inst = actions.start("timer_short", actor=user("hp_officer"))
        db.session.commit()
        return inst.id


def _timer_events(app, inst_id) -> int:
    with app.app_context():
        db.session.expire_all()
        return (
            db.session.scalar(
                select(func.count(InstanceEvent.id)).where(
                    InstanceEvent.instance_id == inst_id, InstanceEvent.kind == "timer"
                )
            )
            or 0
        )


def test_scheduler_killed_after_firing_fires_again_exactly_once(app):
    inst_id = _start_short_timer(app)
    time.sleep(2.2)
    child = run_child(
        app,
        """
        from app.engine import timers
        db.session.commit = lambda: os.kill(os.getpid(), signal.SIGKILL)  # die before recording
        timers.fire_due()
    """,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert _timer_events(app, inst_id) == 0
    with app.app_context():
        from app.engine import timers

        assert timers.fire_due() == 1
        assert timers.fire_due() == 0
        inst = db.session.get(ProcessInstance, inst_id)
        assert inst.status == "completed"
    assert _timer_events(app, inst_id) == 1


def test_timer_due_while_scheduler_down_fires_once_on_start(app):
    inst_id = _start_short_timer(app)
    time.sleep(2.2)  # nothing runs: the scheduler is "down"
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "DUCHA_INSTANCE_DIR": app.config["INSTANCE_DIR"],
    }
    for _ in range(2):  # start it twice: the second start finds nothing to fire
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "ducha", "scheduler", "--once"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    assert _timer_events(app, inst_id) == 1
    with app.app_context():
        assert db.session.get(ProcessInstance, inst_id).status == "completed"
        from app.engine.timers import scheduler_state

        assert scheduler_state()["heartbeat"] is not None


class Proxy:
    """A TCP forwarder to the database that can be cut and restored, to play a database outage."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.up = True
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self):
        self.up = False
        for s in self.conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        self.conns.clear()

    def restore(self):
        self.up = True

    def close(self):
        self.server.close()


def test_timer_due_while_database_down_fires_when_back(app, caplog):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("a database outage needs a server database: runs in the PostgreSQL pass of .ci/run")
    from sqlalchemy.engine import make_url

    from app import create_app
    from app.engine.cli import run_round

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    try:
        other = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url.set(host="127.0.0.1", port=proxy.port).render_as_string(
                    hide_password=False
                ),
                "INSTANCE_DIR": app.config["INSTANCE_DIR"],
                "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
                "DB_PING_IDLE_SECONDS": 1,  # the idle-only ping (app/dbpool.py) must notice the outage
            }
        )
        inst_id = _start_short_timer(app)
        with other.app_context():
            run_round(other)  # the pool is warm
        proxy.cut()
        time.sleep(2.2)  # the timer falls due while the database is unreachable
        assert run_round(other) == 0
        assert _timer_events(app, inst_id) == 0
        proxy.restore()
        assert run_round(other) == 1
        assert _timer_events(app, inst_id) == 1
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        proxy.close()
