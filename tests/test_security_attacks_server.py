"""Attacks on the served application (issue 14), against real gunicorn processes on loopback:

- per-address login throttling used to count per worker (memory://: 2 workers gave 40 tries instead of 20);
  two gunicorn processes sharing the Redis storage now count together;
- gunicorn's own error pages carried no security headers, and every response said `Server: gunicorn`."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_answers() -> bool:
    from app.serve import _redis_answers as answers

    return answers()


@pytest.fixture
def servers(app):
    """Two gunicorn processes (one worker each) on the test database, like two workers or two nodes."""
    if not _redis_answers():
        pytest.skip("no Redis on 127.0.0.1:6379 (the machines of this project run one)")
    prefix = f"ducha-test-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "DUCHA_INSTANCE_DIR": app.config["INSTANCE_DIR"],
        "DUCHA_LOGIN_RATE_LIMIT": "5 per minute",
        "DUCHA_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "DUCHA_RATELIMIT_KEY_PREFIX": prefix,
        "DUCHA_SCHEDULER": "0",
    }
    procs, ports = [], []
    for _ in range(2):
        port = _free_port()
        cmd = [sys.executable, "-m", "gunicorn", "wsgi:app", "-c", "python:app.gunicorn_conf"]
        cmd += ["--bind", f"127.0.0.1:{port}", "--workers", "1"]
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ports.append(port)
    try:
        for port in ports:  # ready when the worker has loaded the app and answers a page
            deadline = time.monotonic() + 120
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    conn.request("GET", "/login")
                    conn.getresponse().read()
                    conn.close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _csrf(port: int) -> tuple[str, str]:
    """A CSRF token and the cookie it belongs to (both servers share the secret key)."""
    import re

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    resp = conn.getresponse()
    html = resp.read().decode()
    cookie = "; ".join(c.split(";")[0] for c in resp.headers.get_all("Set-Cookie") or [])
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    conn.close()
    return token, cookie


def _post_login(port: int, csrf: tuple[str, str]) -> http.client.HTTPResponse:
    from urllib.parse import quote

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = f"login=hp_officer&password=Wrong%23Pass2026&csrf_token={quote(csrf[0])}"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": csrf[1]}
    conn.request("POST", "/login", body=body, headers=headers)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


def test_login_throttling_is_shared_by_the_workers(servers):
    csrf = _csrf(servers[0])
    statuses = [_post_login(servers[i % 2], csrf).status for i in range(8)]
    assert statuses[:5] == [401] * 5, statuses  # 5 per minute, whichever worker answers
    assert statuses[5:] == [429] * 3, statuses


def test_gunicorn_error_pages_carry_security_headers_and_no_server_banner(servers):
    with socket.create_connection(("127.0.0.1", servers[0]), timeout=30) as sock:
        sock.sendall(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")  # request line over the limit
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert lines[0].startswith("HTTP/1.1 4")  # 414 URI Too Long, answered by gunicorn itself
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "server" not in headers
    assert "请求无法处理" in body.decode("utf-8")
    conn = http.client.HTTPConnection("127.0.0.1", servers[1], timeout=30)
    conn.request("GET", "/login")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200 and resp.getheader("Server") is None
    assert resp.getheader("X-Frame-Options") == "DENY"
