"""An S3-compatible server for tests: moto's server mode as a separate process on loopback.

`DUCHA_TEST_STORAGE=s3` makes the session app of tests/conftest.py keep its files in a bucket of such a
server, so any test module runs against the S3 backend unchanged:

    DUCHA_TEST_STORAGE=s3 .venv/bin/pytest tests/test_reports.py

Ports come from DUCHA_TEST_S3_PORTS ("7460-7479" by default).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

S3_CONFIG = {"S3_ACCESS_KEY": "testing", "S3_SECRET_KEY": "testing", "S3_REGION": "us-east-1"}


def _ports() -> range:
    first, _, last = os.environ.get("DUCHA_TEST_S3_PORTS", "7460-7479").partition("-")
    return range(int(first), int(last or first) + 1)


def moto_executable() -> str | None:
    return shutil.which("moto_server", path=str(Path(sys.executable).parent))


def _free_port() -> int:
    for port in _ports():
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port for moto_server in {_ports()}")


class MotoServer:
    """`with MotoServer() as url:` a fresh moto S3 endpoint, stopped (and waited for) at exit."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> str:
        exe = moto_executable()
        if exe is None:
            raise RuntimeError("moto_server is not installed (pip install 'moto[server]')")
        port = _free_port()
        self.proc = subprocess.Popen(
            [exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.url = f"http://127.0.0.1:{port}"
        end = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1).close()
                return self.url
            except OSError:
                if time.time() > end or self.proc.poll() is not None:
                    self.__exit__(None, None, None)
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None


def s3_config(url: str, bucket: str) -> dict:
    """App config for a bucket on `url` (the bucket is created)."""
    from app.storage import S3Storage

    S3Storage(bucket, endpoint_url=url, access_key="testing", secret_key="testing").ensure_bucket()
    return {"STORAGE": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT": url, **S3_CONFIG}
