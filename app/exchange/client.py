"""The HTTP client every connector uses: token auth, paging, retries with backoff, a rate limit, timeouts.

Standard library only (urllib), so a connector has no dependency the government network cannot install.
Every failure becomes an `UpstreamError` with a kind and a Chinese message for the run log:

- ``auth``: 401/403 after one fresh token (never retried: the credentials are wrong);
- ``timeout``: no answer within the timeout, after the retries;
- ``http``: 5xx or 429 after the retries (a 429's Retry-After is honoured), 4xx at once;
- ``broken``: an answer that is not the JSON the source documents (a truncated page), after the retries.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

KIND_LABELS = {"auth": "认证失败", "timeout": "响应超时", "http": "接口错误", "broken": "数据页损坏"}


class UpstreamError(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class ClientConfig:
    base_url: str
    client_id: str = "ducha"
    client_secret: str = "secret"
    timeout: float = 5.0
    retries: int = 3
    backoff: float = 0.5  # seconds, doubled per attempt
    min_interval: float = 0.0  # rate limit: at least this many seconds between two requests
    page_size: int = 100


@dataclass
class Client:
    config: ClientConfig
    sleep: Callable[[float], None] = time.sleep
    token: str | None = None
    retried: int = 0  # retries done so far (the run log shows it)
    requests: int = 0
    _last: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ requests

    def _throttle(self) -> None:
        with self._lock:
            wait = self._last + self.config.min_interval - time.monotonic()
            if wait > 0:
                self.sleep(wait)
            self._last = time.monotonic()

    def _open(self, method: str, path: str, params: dict | None, body: dict | None, auth: bool) -> tuple[int, bytes]:
        url = self.config.base_url.rstrip("/") + path
        if params:
            url += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        self._throttle()
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            retry_after = exc.headers.get("Retry-After") if exc.headers else None
            payload = exc.read() or b""
            if retry_after:
                payload = json.dumps({"retry_after": retry_after}).encode()
            return exc.code, payload

    def login(self) -> None:
        status, raw = self._open(
            "POST",
            "/auth/token",
            None,
            {"client_id": self.config.client_id, "client_secret": self.config.client_secret},
            auth=False,
        )
        if status in (401, 403):
            raise UpstreamError("auth", f"上游系统认证失败（HTTP {status}），请检查接口账号与密钥")
        if status != 200:
            raise UpstreamError("http", f"上游系统获取令牌失败（HTTP {status}）")
        try:
            self.token = json.loads(raw)["access_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise UpstreamError("broken", "上游系统返回的令牌格式不正确") from exc

    def call(self, method: str, path: str, params: dict | None = None, body: dict | None = None):
        """One JSON call with the retry policy; returns the decoded JSON."""
        if self.token is None:
            self.login()
        refreshed = False
        attempt = 0
        while True:
            try:
                status, raw = self._open(method, path, params, body, auth=True)
            except TimeoutError:
                problem = UpstreamError("timeout", f"上游系统在 {self.config.timeout:g} 秒内未响应（{path}）")
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                problem = UpstreamError("http", f"无法连接上游系统（{getattr(exc, 'reason', exc)}）")
            else:
                if status in (401, 403):
                    if not refreshed:  # the token may have expired: one fresh login
                        refreshed = True
                        self.login()
                        continue
                    raise UpstreamError("auth", f"上游系统拒绝访问（HTTP {status}），请检查接口账号权限")
                if status == 200:
                    try:
                        return json.loads(raw)
                    except ValueError:
                        problem = UpstreamError("broken", f"上游系统返回的数据页无法解析（{path}）")
                elif status == 429 or status >= 500:
                    problem = UpstreamError("http", f"上游系统暂时不可用（HTTP {status}）")
                    if status == 429:
                        try:
                            wait = float(json.loads(raw).get("retry_after", 0))
                        except (ValueError, AttributeError):
                            wait = 0.0
                        self.sleep(min(wait, 10.0))
                else:
                    raise UpstreamError("http", f"上游系统拒绝了请求（HTTP {status}，{path}）")
            if attempt >= self.config.retries:
                raise problem
            attempt += 1
            self.retried += 1
            self.sleep(self.config.backoff * 2 ** (attempt - 1))

    def get(self, path: str, **params):
        return self.call("GET", path, params=params)

    def post(self, path: str, body: dict):
        return self.call("POST", path, body=body)

    def pages(self, path: str, **params) -> Iterator[dict]:
        """Each page of a paged list ({"items", "page", "pages"}), first to last."""
        page = 1
        while True:
            answer = self.get(path, page=page, page_size=self.config.page_size, **params)
            if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
                raise UpstreamError("broken", f"上游系统返回的数据页结构不正确（第 {page} 页）")
            yield answer
            if page >= int(answer.get("pages") or 1):
                return
            page += 1
