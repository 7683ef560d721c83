"""Fake upstream systems on loopback, one process, every source under its own prefix
(/zhzf, /yjpt, /sjzl, /gsxx, /geo), in each source's documented shape.

Behaviour is set at run time through ``POST /_control`` ({"behaviour": {...}, "patch": ..., "reset": true}):

- ``auth``: "ok" or "reject" (401 on every call, the token call too);
- ``slow`` seconds for the next ``slow_times`` data calls (-1: all);
- ``broken_page``: that page number answers truncated JSON ``broken_times`` times (-1: always);
- ``errors``: the next that many data calls answer 503;
- ``duplicates``: each page after the first repeats the previous page's last row;
- ``drift``: a field is renamed (party_name/name -> dsrmc) and a new one appears (ext_flag);
- ``page_size_max``: the largest page served; ``rate_limit``: calls per second before 429;
- ``push_reject``: reference ids the governance platform refuses; ``push_errors``: 503s before an ack;
- ``mismatch``: the daily summary's count is off by this many.

Run: ``flask --app wsgi ducha fakes --port 7500`` or ``python -m app.exchange.fakes.server --port 7500``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from app.exchange.checksums import period_checksum
from app.exchange.fakes.data import build, credit_code, iso

DEFAULTS = {
    "auth": "ok",
    "slow": 0.0,
    "slow_times": 0,
    "broken_page": None,
    "broken_times": 0,
    "errors": 0,
    "duplicates": False,
    "drift": False,
    "page_size_max": 50,
    "rate_limit": 0,
    "push_reject": [],
    "push_errors": 0,
    "mismatch": 0,
}
DRIFT = {"party_name": "dsrmc", "name": "dsrmc"}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.behaviour = dict(DEFAULTS)
        self.data = build(datetime.now(UTC))
        self.tokens: set[str] = set()
        self.requests = 0
        self.pushed: list[dict] = []
        self.lookups = 0
        self.window: list[float] = []

    def take(self, name: str) -> bool:
        """Consume one use of a counted behaviour (-1: unlimited)."""
        left = self.behaviour.get(name) or 0
        if left == 0:
            return False
        if left > 0:
            self.behaviour[name] = left - 1
        return True


STATE = State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: tests start this process
        return

    def _send(self, status: int, payload, *, raw: bytes | None = None, headers: dict | None = None):
        body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
            self.wfile.write(body)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {}

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def _route(self, method: str):
        url = urlparse(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        body = self._body() if method == "POST" else {}
        if parts == ["_control"]:
            return self._control(method, body)
        if parts == ["_health"]:
            return self._send(200, {"ok": True})
        st = STATE
        with st.lock:
            st.requests += 1
            b = st.behaviour
            if b["auth"] == "reject":
                return self._send(401, {"error": "invalid_client"})
            if len(parts) == 3 and parts[1:] == ["auth", "token"] and method == "POST":
                if body.get("client_secret") in (None, ""):
                    return self._send(401, {"error": "invalid_client"})
                token = secrets.token_hex(16)
                st.tokens.add(token)
                return self._send(200, {"access_token": token, "expires_in": 3600})
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in st.tokens:
                return self._send(401, {"error": "invalid_token"})
            if b["rate_limit"]:
                now = time.monotonic()
                st.window = [t for t in st.window if now - t < 1.0]
                if len(st.window) >= b["rate_limit"]:
                    wait = f"{max(0.05, 1.0 - (now - st.window[0])):.2f}"
                    return self._send(429, {"error": "too_many"}, headers={"Retry-After": wait})
                st.window.append(now)
            slow = b["slow"] if st.take("slow_times") else 0.0
            failing = st.take("errors")
        if slow:
            time.sleep(slow)
        if failing:
            return self._send(503, {"error": "unavailable"})
        if len(parts) < 3 or parts[1] != "api":
            return self._send(404, {"error": "not_found"})
        source, rest = parts[0], parts[2:]
        if source in ("gsxx", "geo"):
            return self._lookup(source, rest, params)
        if source == "sjzl" and rest[0] == "push" and method == "POST":
            return self._push(rest[1] if len(rest) > 1 else "", body)
        rows = STATE.data.get(source, {}).get(rest[0])
        if rows is None:
            return self._send(404, {"error": "unknown_dataset"})
        if len(rest) == 2 and rest[1] == "summary":
            return self._summary(rows, params.get("date", ""))
        return self._page(rows, params)

    def _control(self, method: str, body: dict):
        st = STATE
        with st.lock:
            if method == "POST":
                if body.get("reset"):
                    st.reset()
                st.behaviour.update(body.get("behaviour") or {})
                for patch in body.get("patch") or []:  # {"source", "dataset", "id", "set": {...}}
                    rows = st.data[patch["source"]][patch["dataset"]]
                    row = next((r for r in rows if r["id"] == patch["id"]), None)
                    if row is None:
                        row = {"id": patch["id"], "version": 0}
                        rows.append(row)
                    row.update(patch.get("set") or {})
                    row["version"] = int(row.get("version") or 0) + 1
                    row["changed_at"] = iso(datetime.now(UTC))
            return self._send(
                200,
                {"requests": st.requests, "pushed": st.pushed, "lookups": st.lookups, "behaviour": st.behaviour},
            )

    def _page(self, rows: list[dict], params: dict):
        st = STATE
        since = params.get("changed_since")
        chosen = sorted(
            (r for r in rows if not since or r["changed_at"] > since), key=lambda r: (r["changed_at"], r["id"])
        )
        size = max(1, min(int(params.get("page_size") or 20), st.behaviour["page_size_max"]))
        page = max(1, int(params.get("page") or 1))
        pages = max(1, -(-len(chosen) // size))
        with st.lock:
            broken = st.behaviour["broken_page"] == page and st.take("broken_times")
        if broken:
            return self._send(200, None, raw=b'{"items": [{"id": "JC0')
        items = [dict(r) for r in chosen[(page - 1) * size : page * size]]
        if st.behaviour["duplicates"] and page > 1:
            items.insert(0, dict(chosen[(page - 1) * size - 1]))
        if st.behaviour["drift"]:
            for item in items:
                for old, new in DRIFT.items():
                    if old in item:
                        item[new] = item.pop(old)
                item["ext_flag"] = "1"
        return self._send(200, {"items": items, "page": page, "pages": pages, "total": len(chosen)})

    def _summary(self, rows: list[dict], day: str):
        from app.exchange.reconcile import local_day  # the same calendar day as the product (Beijing time)

        chosen = [r for r in rows if local_day(datetime.fromisoformat(r["changed_at"])).isoformat() == day]
        count = len(chosen) + int(STATE.behaviour["mismatch"] or 0)
        return self._send(
            200, {"date": day, "count": count, "checksum": period_checksum((r["id"], r["version"]) for r in chosen)}
        )

    def _push(self, dataset: str, body: dict):
        st = STATE
        with st.lock:
            if st.take("push_errors"):
                return self._send(503, {"error": "busy"})
            items = body.get("items") or []
            refused = set(st.behaviour["push_reject"] or [])
            rejected = [
                {"id": i.get("id"), "reason": "统一社会信用代码与登记信息不符"} for i in items if i.get("id") in refused
            ]
            accepted = [i.get("id") for i in items if i.get("id") not in refused]
            st.pushed.append({"dataset": dataset, "batch": body.get("batch_no"), "ids": [i.get("id") for i in items]})
        return self._send(200, {"ack_id": f"ACK-{len(st.pushed):06d}", "accepted": accepted, "rejected": rejected})

    def _lookup(self, source: str, rest: list[str], params: dict):
        with STATE.lock:
            STATE.lookups += 1
        if source == "gsxx" and rest == ["registration"]:
            code = params.get("credit_code", "")
            if not code or code == credit_code(999):
                return self._send(404, {"error": "not_registered"})
            return self._send(
                200,
                {
                    "credit_code": code,
                    "registered_capital": "500万元人民币",
                    "established_on": "2012-05-18",
                    "business_status": "存续",
                    "registration_authority": "上海市市场监督管理局",
                    "legal_person": "王伟",
                },
            )
        if source == "geo" and rest == ["geocode"]:
            address = params.get("address", "")
            if not address:
                return self._send(404, {"error": "no_address"})
            h = sum(address.encode("utf-8")) % 1000
            return self._send(
                200, {"address": address, "lng": round(121.30 + h / 5000, 6), "lat": round(31.10 + h / 6000, 6)}
            )
        return self._send(404, {"error": "not_found"})


def serve(host: str = "127.0.0.1", port: int = 7500) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Ducha fake upstream systems (loopback only)")
    parser.add_argument("--port", type=int, default=7500)
    args = parser.parse_args(argv)
    server = serve("127.0.0.1", args.port)
    print(f"fakes listening on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
