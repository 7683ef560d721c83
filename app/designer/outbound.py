"""Outbound HTTP for the ``http.call`` service task, guarded against SSRF.

- Only http/https URLs. The host must be on ``HTTP_CALL_ALLOWED_HOSTS`` (env DUCHA_HTTP_CALL_ALLOWED_HOSTS,
  comma separated); an empty list means "none" in production (DUCHA_ENV=production) and "any public host"
  elsewhere.
- The host is resolved once (getaddrinfo, so 0x7f000001, 2130706433, 127.1 and 0177.0.0.1 are read as the
  loopback address they are) and every address must be public: loopback, private, shared (100.64/10),
  link-local, multicast, reserved, unspecified and documentation ranges are refused, for IPv4 and IPv6,
  including IPv4-mapped, 6to4, Teredo and NAT64 forms. An operator who integrates an internal system opens
  its network explicitly with ``HTTP_CALL_ALLOWED_NETWORKS`` (CIDRs, e.g. ``10.20.0.0/16``).
- The connection goes to the address that was checked (no second lookup, so DNS rebinding cannot swap it),
  with the original Host header and TLS server name. Redirects are never followed.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app, has_app_context

from app.engine.errors import EngineError

NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _config_list(key: str) -> list[str]:
    if not has_app_context():
        return []
    value = current_app.config.get(key) or []
    if isinstance(value, str):
        value = value.split(",")
    return [v.strip().lower() for v in value if v and v.strip()]


def _production() -> bool:
    return has_app_context() and current_app.config.get("ENV_NAME") == "production"


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None and not is_public(inner):
            return False
    return ip.is_global and not (
        ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local or ip.is_unspecified
    )


def _network_allowed(ip) -> bool:
    for cidr in _config_list("HTTP_CALL_ALLOWED_NETWORKS"):
        try:
            if ip in ipaddress.ip_network(cidr, strict=False):
                return True
        except ValueError:
            continue
    return False


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str
    path: str


def check_url(url: str) -> Target:
    """Resolve and check a URL; an EngineError (Chinese) says why it is refused."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EngineError(f"触发器地址「{url}」无效：只允许 http:// 或 https:// 地址")
    if parts.username or parts.password:
        raise EngineError("触发器地址不能包含用户名或密码")
    host = parts.hostname.lower().rstrip(".")
    allowed = _config_list("HTTP_CALL_ALLOWED_HOSTS")
    if not allowed and _production():
        raise EngineError("生产环境未配置允许调用的主机（HTTP_CALL_ALLOWED_HOSTS），触发器调用被拒绝")
    if allowed and host not in allowed:
        raise EngineError(f"触发器地址的主机「{host}」不在允许列表（HTTP_CALL_ALLOWED_HOSTS）中")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise EngineError(f"触发器地址「{url}」的端口无效") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EngineError(f"触发器地址的主机「{host}」无法解析：{exc}") from exc
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if not is_public(ip) and not _network_allowed(ip):
            raise EngineError(
                f"触发器地址「{host}」解析为内部地址 {ip}（回环、私有、链路本地、组播或保留地址），"
                "为防止服务器端请求伪造已拒绝调用"
            )
        addresses.append(str(ip))
    if not addresses:
        raise EngineError(f"触发器地址的主机「{host}」无法解析")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, addresses[0], path)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def request(
    url: str, *, method: str, body: bytes | None, headers: dict, timeout: float, limit: int
) -> tuple[int, str, bytes]:
    """One request to a checked address: (status, content type, at most `limit` bytes of the body)."""
    target = check_url(url)
    conn = (_PinnedHTTPS if target.scheme == "https" else _PinnedHTTP)(target, timeout)
    try:
        conn.request(method, target.path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", "") or "", resp.read(limit)
    except (OSError, http.client.HTTPException) as exc:
        raise EngineError(f"触发器调用 {url} 失败：{exc}") from exc
    finally:
        conn.close()
