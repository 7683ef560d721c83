"""Serve the app as production would: gunicorn web workers, exactly one scheduler process and the job
worker process (PDFs, reports, exports: app/reports/worker.py), all three stopped together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys


def _redis_answers(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


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
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "ducha", "worker"],
        env={**env, "PGAPPNAME": env.get("PGAPPNAME", "ducha") + "-worker"},
    )
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
        for proc in (web, scheduler, worker, fakes):
            if proc is not None and proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = web.wait()
    stop()
    scheduler.wait(timeout=20)
    worker.wait(timeout=60)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
