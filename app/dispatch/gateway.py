"""Client of the device gateway (body cameras and vehicles, over HTTP/JSON with a bearer token).

Every failure becomes a `GatewayError` whose message is Chinese and shown as it is on the screen:
timeouts, refused connections, 5xx, a bad token (401/403), a device that is gone (404) or offline (409).
Reads are retried (`retries` extra attempts with a short backoff); acts that change something on the
gateway (start/stop a call, notify) are retried only when the connection was never made.
No Flask here: `from_config(app.config)` builds one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote

from app.errors import DomainError


class GatewayError(DomainError):
    """The gateway could not do it; `kind` is a short code (timeout, auth, server, gone, offline, down)."""

    status = 502
    code = "gateway_error"

    def __init__(self, message: str, kind: str = "error"):
        super().__init__(message)
        self.kind = kind


STATUS_LABELS = {
    "ok": "正常",
    "timeout": "网关超时",
    "auth": "网关认证失败",
    "server": "网关内部错误",
    "gone": "设备已不存在",
    "offline": "设备离线",
    "down": "网关无法连接",
    "error": "网关返回错误",
}


@dataclass
class GatewayClient:
    base_url: str
    token: str
    timeout: float = 3.0
    retries: int = 2
    backoff: float = 0.2

    def _request(self, method: str, path: str, body: dict | None = None, *, idempotent: bool = True, raw=False):
        url = self.base_url.rstrip("/") + path
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        attempts = 1 + max(0, self.retries)
        last: GatewayError | None = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.backoff * attempt)
            req = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    payload = resp.read()
                    return payload if raw else json.loads(payload or b"{}")
            except urllib.error.HTTPError as exc:
                exc.close()  # the error response holds its socket
                last = self._http_error(exc.code, path)
                if exc.code < 500:
                    raise last from exc
                if not idempotent:
                    raise last from exc
            except TimeoutError as exc:
                last = GatewayError(f"网关超时：{self.timeout:g} 秒内未响应（{path}）", "timeout")
                if not idempotent:
                    raise last from exc
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, TimeoutError | socket.timeout):
                    last = GatewayError(f"网关超时：{self.timeout:g} 秒内未响应（{path}）", "timeout")
                    if not idempotent:
                        raise last from exc
                else:
                    last = GatewayError(f"网关无法连接（{self.base_url}）：{exc.reason}", "down")
            except ValueError as exc:
                raise GatewayError("网关返回的数据无法解析", "error") from exc
        assert last is not None
        raise last

    @staticmethod
    def _http_error(code: int, path: str) -> GatewayError:
        if code in (401, 403):
            return GatewayError("网关认证失败：令牌无效或已过期，请检查 DUCHA_GATEWAY_TOKEN", "auth")
        if code == 404:
            return GatewayError("设备已不存在：网关上找不到该设备（可能已注销或更换）", "gone")
        if code == 409:
            return GatewayError("设备离线，暂时无法调用", "offline")
        if code >= 500:
            return GatewayError(f"网关内部错误（HTTP {code}），请稍后重试", "server")
        return GatewayError(f"网关拒绝了请求（HTTP {code}，{path}）", "error")

    # reads -------------------------------------------------------------------------------------
    def devices(self) -> list[dict]:
        return self._request("GET", "/api/v1/devices")["devices"]

    def positions(self) -> list[dict]:
        return self._request("GET", "/api/v1/positions")["positions"]

    def device(self, device_id: str) -> dict:
        return self._request("GET", f"/api/v1/devices/{quote(device_id)}")

    def live_url(self, device_id: str) -> str:
        return self._request("GET", f"/api/v1/devices/{quote(device_id)}/live")["url"]

    def events(self, since: int = 0) -> list[dict]:
        return self._request("GET", f"/api/v1/events?since={int(since)}")["events"]

    def recordings(self, since: int = 0) -> list[dict]:
        return self._request("GET", f"/api/v1/recordings?since={int(since)}")["recordings"]

    def recording_file(self, recording_id) -> bytes:
        return self._request("GET", f"/api/v1/recordings/{int(recording_id)}/file", raw=True)

    # acts --------------------------------------------------------------------------------------
    def start_call(self, device_id: str) -> dict:
        return self._request("POST", f"/api/v1/devices/{quote(device_id)}/calls", {}, idempotent=False)

    def stop_call(self, call_id: str) -> dict:
        return self._request("DELETE", f"/api/v1/calls/{quote(call_id)}", idempotent=False)

    def notify(self, device_id: str, text: str) -> dict:
        return self._request("POST", f"/api/v1/devices/{quote(device_id)}/notify", {"text": text}, idempotent=False)


def from_config(cfg: dict) -> GatewayClient:
    return GatewayClient(
        base_url=cfg["GATEWAY_URL"],
        token=cfg["GATEWAY_TOKEN"] or "",
        timeout=float(cfg["GATEWAY_TIMEOUT"]),
        retries=int(cfg["GATEWAY_RETRIES"]),
    )


def verify_signature(secret: str, body: bytes, signature: str | None) -> bool:
    """Webhook bodies are signed with HMAC-SHA256 of the shared secret (X-Gateway-Signature, hex)."""
    if not signature or not secret:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())
