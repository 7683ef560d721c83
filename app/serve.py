"""Serve the app as production would: gunicorn web workers, exactly one scheduler process and the job
worker process (PDFs, reports, exports: app/reports/worker.py), all three stopped together. The job worker
recycles itself (JOBS_WORKER_MAX_JOBS / JOBS_WORKER_MAX_RSS_MB) and is started again here."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time


def _redis_answers(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class Restarting:
    """A child process that is started again whenever it exits while serve runs (at most once per
    `pause` seconds, so a process that cannot start does not spin)."""

    def __init__(self, argv: list[str], env: dict, *, pause: float = 2.0, **popen):
        self.argv, self.env, self.pause, self.popen = argv, env, pause, popen
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.starts = 0
        self.stopping = False

    def start(self) -> None:
        self.started_at, self.starts = time.monotonic(), self.starts + 1
        self.proc = subprocess.Popen(self.argv, env=self.env, **self.popen)

    def check(self) -> None:
        """Start it again if it has exited (and serve is not stopping)."""
        if self.stopping or self.proc is None or self.proc.poll() is None:
            return
        if time.monotonic() - self.started_at >= self.pause:
            self.start()

    def poll(self):
        return self.proc.poll() if self.proc is not None else 0

    def terminate(self) -> None:
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def wait(self, timeout: float | None = None):
        return self.proc.wait(timeout=timeout) if self.proc is not None else 0


def main() -> int:
    port = os.environ.get("PORT", "5000")
    workers = os.environ.get("DUCHA_WEB_WORKERS", "2")
    env = {**os.environ, "DUCHA_JOBS": "worker"}  # slow work goes to the job worker, never a web worker
    # Login throttling counts must be shared by the workers: use the local Redis when it answers.
    if not env.get("DUCHA_RATELIMIT_STORAGE_URI") and _redis_answers():
        env["DUCHA_RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379/0"
    # The demo's fake upstream systems (data exchange), a separate process on loopback; never in production.
    fakes = None
    if env.get("DUCHA_EXCHANGE_FAKES") == "1":
        env.setdefault("DUCHA_EXCHANGE_SCHEDULE", "1")  # scheduled pulls have someone to talk to
        fakes = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "ducha", "fakes"], env=env)
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "ducha", "scheduler"],
        env={**env, "DUCHA_SCHEDULER": "1", "PGAPPNAME": env.get("PGAPPNAME", "ducha") + "-scheduler"},
    )
    # PGAPPNAME (libpq): pg_stat_activity and the server log tell the web workers, scheduler and job worker apart.
    worker = Restarting(
        [sys.executable, "-m", "flask", "--app", "wsgi", "ducha", "worker"],
        {**env, "PGAPPNAME": env.get("PGAPPNAME", "ducha") + "-worker"},
    )
    worker.start()
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "wsgi:app",
            "-c",
            "python:app.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            workers,
            "--threads",
            "4",
            "--access-logfile",
            "-",
        ],
        env={**env, "DUCHA_SCHEDULER": "0", "PGAPPNAME": env.get("PGAPPNAME", "ducha") + "-web"},
    )
    print(f"Ducha 已启动: http://127.0.0.1:{port}  (Ctrl+C 停止)", flush=True)

    def stop(*_):
        worker.terminate()  # and no restart from now on
        for proc in (web, scheduler, fakes):
            if proc is not None and proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while web.poll() is None:
        worker.check()  # a recycled job worker (it exits after N jobs or above its memory limit) starts again
        time.sleep(0.5)
    code = web.wait()
    stop()
    scheduler.wait(timeout=20)
    worker.wait(timeout=60)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
