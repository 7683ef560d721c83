"""python -m app.devicesim [--port 7310] [--cameras 50] [--vehicles 20]: run the device simulator."""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import threading
from pathlib import Path

from app.devicesim.server import Sim, serve
from app.devicesim.world import World


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Ducha device gateway simulator (loopback only)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=int(os.environ.get("DUCHA_DEVICESIM_PORT", "7310")))
    ap.add_argument("--cameras", type=int, default=50)
    ap.add_argument("--vehicles", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--churn", type=float, default=0.002, help="chance per second that a device goes off/online")
    ap.add_argument("--tick", type=float, default=1.0)
    ap.add_argument("--token", default=os.environ.get("DUCHA_GATEWAY_TOKEN", "ducha-devicesim-token"))
    ap.add_argument("--webhook", default=os.environ.get("DUCHA_DEVICESIM_WEBHOOK"))
    ap.add_argument("--secret", default=os.environ.get("DUCHA_GATEWAY_WEBHOOK_SECRET", "ducha-devicesim-webhook"))
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        ap.error("the simulator listens on loopback only")
    data = Path(args.data_dir or tempfile.mkdtemp(prefix="ducha-devicesim-"))
    data.mkdir(parents=True, exist_ok=True)
    sim = Sim(World(args.cameras, args.vehicles, args.seed, args.churn), args.token, data, args.webhook, args.secret)
    httpd = serve(sim, args.host, args.port, args.tick)
    print(f"devicesim: {sim.base} ({args.cameras} cameras, {args.vehicles} vehicles)", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    httpd.ducha_stop.set()
    httpd.shutdown()
    sim.live.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
