"""50 open one-screen maps (调度一张屏) over real HTTP: gunicorn on loopback (2 workers x 4 threads, the app as
deployed), 50 logged-in screens each reading /dispatch/api/stream as a browser's EventSource does (a held
stream, or one tick per request and a reconnect after `retry` ms with Last-Event-ID), while positions are
written every 0.5 s. Checked: every screen received at least MIN_EVENTS position events in WINDOW seconds,
no request failed, every device was seen. The server's memory (RSS of master + workers) and CPU time over the
window are printed (`pytest -s`); they are rough figures on a shared machine, not targets.

DUCHA_SSE_TEST_SECONDS (default 20) and DUCHA_SSE_TEST_SCREENS (default 50) change the run.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests
from sqlalchemy import select

from app.auth.services import create_user
from app.dispatch import devices
from app.extensions import db
from app.orgs.models import Organisation
from tests.conftest import TEST_PASSWORD
from tests.dispatch_support import free_port

ROOT = Path(__file__).resolve().parent.parent
SCREENS = int(os.environ.get("DUCHA_SSE_TEST_SCREENS", "50"))
WINDOW = float(os.environ.get("DUCHA_SSE_TEST_SECONDS", "20"))
MIN_EVENTS = max(3, int(WINDOW / 5))  # a poller gets one tick per ~2 s at best; leave room for a busy box
DEVICES = 20
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Server:
    def __init__(self, app, tmp: Path):
        self.port = free_port(range(7480, 7500))
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "DUCHA_INSTANCE_DIR": app.config["INSTANCE_DIR"],
            "DUCHA_UPLOAD_DIR": app.config["UPLOAD_DIR"],
            "DUCHA_LOGIN_RATE_LIMIT": "100000 per minute",
            "DUCHA_TOTP_REQUIRED_PERMISSIONS": "",
            "DUCHA_SCHEDULER": "0",
            "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="ducha-sse-metrics-", dir=tmp),
        }
        cmd = [sys.executable, "-m", "gunicorn", "wsgi:app", "-c", "python:app.gunicorn_conf"]
        cmd += ["--bind", f"127.0.0.1:{self.port}", "--workers", "2", "--threads", "4", "--timeout", "60"]
        self.log = tmp / "gunicorn.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, self.output()
            try:
                if requests.get(self.base + "/login", timeout=3).status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "gunicorn not ready\n" + self.output()
            time.sleep(0.3)

    def processes(self) -> list[psutil.Process]:
        master = psutil.Process(self.proc.pid)
        return [master, *master.children(recursive=True)]

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def _login(base: str, login: str) -> str:
    """Log in through the form (CSRF token and all); returns the Cookie header of the session."""
    s = requests.Session()
    token = CSRF.search(s.get(base + "/login", timeout=30).text).group(1)
    resp = s.post(
        base + "/login",
        data={"login": login, "password": TEST_PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert resp.status_code == 302, resp.text[:500]
    return "; ".join(f"{c.name}={c.value}" for c in s.cookies)


class Screen(threading.Thread):
    """One open map: EventSource semantics over http.client (chunked responses read line by line)."""

    def __init__(self, port: int, cookie: str, until: float):
        super().__init__(daemon=True)
        self.port, self.cookie, self.until = port, cookie, until
        self.events = self.connections = self.bytes = 0
        self.errors: list[str] = []
        self.seen: set[int] = set()

    def run(self) -> None:
        last_id, retry = "", 1.0
        while time.monotonic() < self.until:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            try:
                headers = {"Cookie": self.cookie, "Accept": "text/event-stream"}
                if last_id:
                    headers["Last-Event-ID"] = last_id
                conn.request("GET", "/dispatch/api/stream", headers=headers)
                resp = conn.getresponse()
                self.connections += 1
                if resp.status != 200:
                    self.errors.append(f"HTTP {resp.status}")
                    resp.read()
                    time.sleep(1)
                    continue
                event, data = "", []
                while time.monotonic() < self.until:
                    line = resp.readline()
                    if not line:
                        break  # the server ended the stream: reconnect after `retry`
                    self.bytes += len(line)
                    line = line.decode().rstrip("\r\n")
                    if line.startswith("retry:"):
                        retry = int(line[6:]) / 1000
                    elif line.startswith("id:"):
                        last_id = line[3:].strip()
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif not line and data:
                        if event == "positions":
                            rows = json.loads("\n".join(data))
                            self.events += 1
                            self.seen.update(r["id"] for r in rows)
                        event, data = "", []
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(type(exc).__name__)
            finally:
                conn.close()
            time.sleep(min(retry, max(0.0, self.until - time.monotonic())))


def _sample(server: Server) -> tuple[int, float]:
    rss = cpu = 0.0
    for p in server.processes():
        try:
            rss += p.memory_info().rss
            t = p.cpu_times()
            cpu += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return int(rss), cpu


def test_fifty_map_screens_receive_positions_over_http(app, tmp_path):
    with app.app_context():
        city = db.session.scalar(select(Organisation).where(Organisation.code == "SHYJ-ZH"))
        districts = db.session.scalars(select(Organisation).where(Organisation.kind == "district")).all()
        for i in range(SCREENS):
            create_user(
                login=f"screen{i:02d}",
                name=f"调度屏{i:02d}",
                org=city,
                password=TEST_PASSWORD,
                roles=["city_officer"],
                must_change_password=False,
            )
        codes = []
        for i in range(DEVICES):
            kind = "camera" if i % 3 else "vehicle"
            code = f"{'CAM' if kind == 'camera' else 'VEH'}{6000 + i}"
            devices.register_device(code=code, kind=kind, name=f"设备{i:02d}", org=districts[i % len(districts)])
            codes.append(code)
        db.session.commit()
        device_ids = set(db.session.scalars(select(devices.Device.id)))

    server = Server(app, tmp_path)
    stop = threading.Event()
    writes = {"n": 0}

    def writer():
        with app.app_context():
            step = 0
            while not stop.is_set():
                step += 1
                now = time.time()
                batch = [
                    {"id": c, "lon": 121.40 + 0.001 * ((step + i) % 50), "lat": 31.20 + 0.0005 * i, "ts": now}
                    for i, c in enumerate(codes)
                ]
                devices.apply_positions(batch)
                db.session.commit()
                writes["n"] += 1
                stop.wait(0.5)
            db.session.remove()

    try:
        server.wait_ready()
        t0 = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            cookies = list(pool.map(lambda i: _login(server.base, f"screen{i:02d}"), range(SCREENS)))
        login_s = time.monotonic() - t0
        feeder = threading.Thread(target=writer, daemon=True)
        feeder.start()
        rss0, cpu0 = _sample(server)
        peak = rss0
        until = time.monotonic() + WINDOW
        screens = [Screen(server.port, cookie, until) for cookie in cookies]
        for s in screens:
            s.start()
        while time.monotonic() < until:
            peak = max(peak, _sample(server)[0])
            time.sleep(1)
        for s in screens:
            s.join(30)
        rss1, cpu1 = _sample(server)
        stop.set()
        feeder.join(10)
    finally:
        stop.set()
        server.stop()

    counts = sorted(s.events for s in screens)
    errors = [e for s in screens for e in s.errors]
    conns = sum(s.connections for s in screens)
    mib = 1024 * 1024
    print(
        f"\n{SCREENS} SSE screens over HTTP (gunicorn 2 workers x 4 threads, "
        f"{app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}, shared busy machine):\n"
        f"  screens {SCREENS}, window {WINDOW:.0f} s, position writes {writes['n']} (every 0.5 s, {DEVICES} devices)\n"
        f"  events per screen: min {counts[0]}, median {counts[len(counts) // 2]}, max {counts[-1]}"
        f" (required >= {MIN_EVENTS}); connections {conns} ({conns / WINDOW:.1f}/s); errors {len(errors)}\n"
        f"  bytes received {sum(s.bytes for s in screens)}; logins {login_s:.1f} s for {SCREENS}\n"
        f"  server RSS (master + workers): start {rss0 / mib:.0f} MiB, peak {peak / mib:.0f} MiB,"
        f" end {rss1 / mib:.0f} MiB\n"
        f"  server CPU over the window: {cpu1 - cpu0:.1f} CPU-s ({100 * (cpu1 - cpu0) / WINDOW:.0f}% of one core)"
    )
    assert not errors, errors[:10]
    assert counts[0] >= MIN_EVENTS, counts
    assert set().union(*(s.seen for s in screens)) == device_ids
