"""Serve the app as production would: gunicorn web workers plus exactly one scheduler process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def main() -> int:
    port = os.environ.get("PORT", "5000")
    workers = os.environ.get("DUCHA_WEB_WORKERS", "2")
    env = dict(os.environ)
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "ducha", "scheduler"], env={**env, "DUCHA_SCHEDULER": "1"}
    )
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "wsgi:app",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            workers,
            "--threads",
            "4",
            "--access-logfile",
            "-",
        ],
        env={**env, "DUCHA_SCHEDULER": "0"},
    )
    print(f"Ducha 已启动: http://127.0.0.1:{port}  (Ctrl+C 停止)", flush=True)

    def stop(*_):
        for proc in (web, scheduler):
            if proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = web.wait()
    stop()
    scheduler.wait(timeout=20)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
