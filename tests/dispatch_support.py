"""Shared set-up for the dispatch tests: the device simulator as a real process on a free loopback port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

PORTS = range(7320, 7400)  # this module's share of the loopback ports
TOKEN = "test-gateway-token"


def free_port(ports=PORTS) -> int:
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 7320-7399")


class SimProcess:
    def __init__(self, tmp: Path, *, cameras=8, vehicles=4, churn=0.0, webhook=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [
            sys.executable,
            "-m",
            "app.devicesim",
            "--port",
            str(self.port),
            "--cameras",
            str(cameras),
            "--vehicles",
            str(vehicles),
            "--churn",
            str(churn),
            "--tick",
            "0.2",
            "--token",
            TOKEN,
            "--data-dir",
            str(tmp),
        ]
        if webhook:
            cmd += ["--webhook", webhook]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.time() + 30
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("simulator exited: " + self.proc.stderr.read().decode(errors="replace"))
            try:
                self.control("health", method="GET")
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("simulator did not start in 30 s")

    def control(self, what: str, body: dict | None = None, method: str = "POST") -> dict:
        data = json.dumps(body or {}).encode() if method == "POST" else None
        req = urllib.request.Request(f"{self.base}/_sim/{what}", data=data, method=method)
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())

    def fault(self, *, error=0, delay=0.0, count=1) -> None:
        self.control("faults", {"error": error, "delay": delay, "count": count})

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()


@pytest.fixture(scope="session")
def sim(tmp_path_factory):
    """One simulator for every dispatch test (each test uses its own devices: CAM0001-0005, CAM0008, VEH0001)."""
    proc = SimProcess(tmp_path_factory.mktemp("devicesim"))
    yield proc
    proc.stop()
