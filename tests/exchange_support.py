"""The fake upstream systems as a real subprocess on loopback (ports 7500-7599), and helpers."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    for port in range(7590, 7500, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 7500-7599")


class Fake:
    def __init__(self, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def control(self, reset: bool = False, patch: list | None = None, **behaviour) -> dict:
        body = json.dumps({"reset": reset, "behaviour": behaviour, "patch": patch or []}).encode()
        req = urllib.request.Request(self.url + "/_control", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())


@pytest.fixture(scope="module")
def fake_process():
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.exchange.fakes.server", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_health", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait(timeout=5)
                raise RuntimeError("the fake upstream process did not start: " + proc.stdout.read().decode()) from None
            time.sleep(0.1)
    yield Fake(port)
    proc.terminate()
    proc.wait(timeout=10)
    proc.stdout.close()


@pytest.fixture
def fake(app, fake_process):
    """The fake, reset, and the app pointed at it with short timeouts and backoff."""
    fake_process.control(reset=True)
    saved = {k: app.config[k] for k in SETTINGS if k in app.config}
    app.config.update(SETTINGS, EXCHANGE_BASE_URL=fake_process.url)
    yield fake_process
    for key in SETTINGS:  # as it was: absent keys removed again, so the defaults apply
        app.config.pop(key, None)
    app.config.update(saved)


SETTINGS = {
    "EXCHANGE_BASE_URL": None,
    "EXCHANGE_TIMEOUT": 0.6,
    "EXCHANGE_RETRIES": 2,
    "EXCHANGE_BACKOFF": 0.01,
    "EXCHANGE_PAGE_SIZE": 20,
    "EXCHANGE_ENRICH_INTERVAL": 0.0,
}


def make_user(login: str, roles: list[str], org_code: str = "SHYJ"):
    from sqlalchemy import select

    from app.auth.services import create_user
    from app.extensions import db
    from app.orgs.models import Organisation
    from tests.conftest import TEST_PASSWORD

    org = db.session.scalar(select(Organisation).where(Organisation.code == org_code))
    user = create_user(
        login=login, name=login, org=org, password=TEST_PASSWORD, roles=roles, must_change_password=False
    )
    db.session.commit()
    return user


def pull(source: str, dataset: str):
    """One run, in this process, to its end (the job path is tested through the page)."""
    from app.exchange.sync import execute_run, new_run
    from app.extensions import db

    run = new_run(source, dataset, trigger="manual")
    db.session.commit()
    return execute_run(run)
