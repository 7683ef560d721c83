"""The simulator's HTTP side: the gateway API (token auth), HLS files, webhooks, and a fault switch.

Gateway API (JSON, `Authorization: Bearer <token>`):
  GET  /api/v1/devices                 every device with position and online status
  GET  /api/v1/positions               positions only (the poll the app runs every few seconds)
  GET  /api/v1/devices/<id>            one device (404 when it is gone)
  GET  /api/v1/devices/<id>/live       {"url": live HLS playlist} (409 when offline)
  POST /api/v1/devices/<id>/calls      start a point call: {"call_id", "stream_url"}
  DELETE /api/v1/calls/<call_id>       stop it: {"recording_id"}; the call becomes a recording
  POST /api/v1/devices/<id>/notify     push a dispatch message to the device
  GET  /api/v1/recordings?since=<id>   recordings after that id
  GET  /api/v1/recordings/<id>/file    the recording's bytes
  GET  /api/v1/events?since=<seq>      status changes (the same events the webhook pushes)
Test control (loopback, no token): POST /_sim/faults {"delay": s, "error": 500, "count": n},
  POST /_sim/vanish {"id"}, POST /_sim/online {"id", "online"}; GET /_sim/health.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from app.devicesim.video import LiveStream
from app.devicesim.world import World


class Sim:
    def __init__(self, world: World, token: str, data_dir: Path, webhook: str | None, secret: str):
        self.world, self.token, self.dir = world, token, data_dir
        self.webhook, self.secret = webhook, secret
        self.live = LiveStream(data_dir)
        self.calls: dict[str, dict] = {}
        self.recordings: list[dict] = []
        self.notices: list[dict] = []
        self.ids = itertools.count(1)
        self.faults = {"delay": 0.0, "error": 0, "count": 0}
        self.lock = threading.Lock()
        self.base = ""

    def take_fault(self) -> tuple[float, int]:
        with self.lock:
            f = self.faults
            if f["count"] <= 0:
                return 0.0, 0
            f["count"] -= 1
            return float(f["delay"]), int(f["error"])

    def push(self, events: list[dict]) -> None:
        if not self.webhook or not events:
            return
        body = json.dumps({"events": events}).encode()
        sig = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        req = urllib.request.Request(
            self.webhook, data=body, headers={"Content-Type": "application/json", "X-Gateway-Signature": sig}
        )
        # The app also pulls /api/v1/events: a missed push is caught up.
        with contextlib.suppress(OSError):
            urllib.request.urlopen(req, timeout=2).close()

    def stop_call(self, call_id: str) -> dict | None:
        call = self.calls.pop(call_id, None)
        if call is None:
            return None
        rid = next(self.ids)
        path = self.dir / f"rec-{rid}.mp4"
        if not self.live.clip(path):
            # No ffmpeg: a deterministic stand-in file, so sizes and hashes can still be checked.
            seed = hashlib.sha256(f"{call['device_id']}-{rid}".encode()).digest()
            path.write_bytes(seed * 4096)
        rec = {
            "id": rid,
            "device_id": call["device_id"],
            "started_at": call["started_at"],
            "ended_at": time.time(),
            "size": path.stat().st_size,
            "content_type": "video/mp4",
            "url": f"{self.base}/api/v1/recordings/{rid}/file",
        }
        self.recordings.append(rec)
        return rec


def make_handler(sim: Sim):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, obj=None, body: bytes | None = None, ctype="application/json"):
            if body is None:
                body = json.dumps(obj, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.wfile.write(body)

        def _json(self) -> dict:
            n = int(self.headers.get("Content-Length") or 0)
            try:
                return json.loads(self.rfile.read(n) or b"{}")
            except ValueError:
                return {}

        def _authorised(self) -> bool:
            got = self.headers.get("Authorization", "")
            return hmac.compare_digest(got.encode(), f"Bearer {sim.token}".encode())

        def _route(self, method: str):
            url = urlparse(self.path)
            parts = [p for p in url.path.split("/") if p]
            query = parse_qs(url.query)
            if parts[:1] == ["_sim"]:
                return self._control(method, parts[1:])
            if parts[:1] == ["hls"]:
                return self._hls(parts[1:])
            if parts[:2] != ["api", "v1"]:
                return self._send(404, {"message": "not found"})
            delay, error = sim.take_fault()
            if delay:
                time.sleep(delay)
            if error:
                return self._send(error, {"message": "gateway fault"})
            if not self._authorised():
                return self._send(401, {"message": "invalid token"})
            return self._api(method, parts[2:], query)

        def _api(self, method, parts, query):
            w = sim.world
            if parts == ["devices"] and method == "GET":
                return self._send(200, {"devices": w.snapshot()})
            if parts == ["positions"] and method == "GET":
                return self._send(200, {"ts": time.time(), "positions": w.snapshot()})
            if parts == ["events"] and method == "GET":
                return self._send(200, {"events": w.events_since(int(query.get("since", ["0"])[0] or 0))})
            if parts[:1] == ["recordings"] and method == "GET":
                if len(parts) == 1:
                    since = int(query.get("since", ["0"])[0] or 0)
                    return self._send(200, {"recordings": [r for r in sim.recordings if r["id"] > since]})
                path = sim.dir / f"rec-{parts[1]}.mp4"
                if len(parts) == 3 and path.exists():
                    return self._send(200, body=path.read_bytes(), ctype="video/mp4")
                return self._send(404, {"message": "no such recording"})
            if parts[:1] == ["calls"] and method == "DELETE" and len(parts) == 2:
                rec = sim.stop_call(parts[1])
                return self._send(200, {"recording_id": rec["id"]}) if rec else self._send(404, {"message": "no call"})
            if parts[:1] != ["devices"] or len(parts) < 2:
                return self._send(404, {"message": "not found"})
            dev = w.get(parts[1])
            if dev is None:
                return self._send(404, {"message": "no such device"})
            action = parts[2] if len(parts) > 2 else ""
            if action == "" and method == "GET":
                return self._send(200, dev)
            if action == "notify" and method == "POST":
                sim.notices.append({"device_id": dev["id"], **self._json()})
                return self._send(200, {"ok": True})
            if not dev["online"]:
                return self._send(409, {"message": "device offline"})
            if action == "live" and method == "GET":
                return self._send(200, {"url": f"{sim.base}/hls/{dev['id']}/index.m3u8", "live": sim.live.ensure()})
            if action == "calls" and method == "POST":
                cid = f"C{next(sim.ids)}"
                sim.calls[cid] = {"device_id": dev["id"], "started_at": time.time()}
                sim.live.ensure()
                return self._send(200, {"call_id": cid, "stream_url": f"{sim.base}/hls/{dev['id']}/index.m3u8"})
            return self._send(404, {"message": "not found"})

        def _hls(self, parts):
            if len(parts) != 2 or sim.world.get(parts[0]) is None:
                return self._send(404, {"message": "no stream"})
            if not sim.live.ensure():
                return self._send(503, {"message": "ffmpeg not installed"})
            name = Path(parts[1]).name
            if name == "index.m3u8":
                sim.live.wait_ready()
            path = sim.live.dir / name
            if not path.exists():
                return self._send(404, {"message": "no segment"})
            ctype = "application/vnd.apple.mpegurl" if name.endswith(".m3u8") else "video/mp2t"
            return self._send(200, body=path.read_bytes(), ctype=ctype)

        def _control(self, method, parts):
            body = self._json() if method == "POST" else {}
            if parts == ["health"]:
                return self._send(200, {"ok": True, "devices": len(sim.world.devices), "notices": len(sim.notices)})
            if parts == ["notices"]:
                return self._send(200, {"notices": sim.notices})
            if parts == ["faults"] and method == "POST":
                with sim.lock:
                    sim.faults = {
                        "delay": float(body.get("delay", 0)),
                        "error": int(body.get("error", 0)),
                        "count": int(body.get("count", 1)),
                    }
                return self._send(200, sim.faults)
            if parts == ["vanish"] and method == "POST":
                return self._send(200, {"ok": sim.world.vanish(str(body.get("id")))})
            if parts == ["online"] and method == "POST":
                ev = sim.world.set_online(str(body.get("id")), bool(body.get("online")))
                if ev:
                    threading.Thread(target=sim.push, args=([ev],), daemon=True).start()
                return self._send(200, {"event": ev})
            return self._send(404, {"message": "not found"})

        def do_GET(self):
            self._route("GET")

        def do_POST(self):
            self._route("POST")

        def do_DELETE(self):
            self._route("DELETE")

    return Handler


def serve(sim: Sim, host: str, port: int, tick: float = 1.0) -> ThreadingHTTPServer:
    """Bind, start the server thread and the movement loop; returns the server (shutdown() to stop)."""
    httpd = ThreadingHTTPServer((host, port), make_handler(sim))
    httpd.daemon_threads = True
    sim.base = f"http://{host}:{httpd.server_address[1]}"
    stop = threading.Event()
    httpd.ducha_stop = stop

    def loop():
        last = time.time()
        while not stop.wait(tick):
            now = time.time()
            events = sim.world.tick(now - last)
            last = now
            sim.push(events)
            sim.live.reap_idle()

    threading.Thread(target=loop, daemon=True).start()
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd
