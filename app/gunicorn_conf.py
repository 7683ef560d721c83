"""gunicorn settings for `make run` and production (`gunicorn -c python:app.gunicorn_conf wsgi:app`).

gunicorn answers some requests itself, before Flask sees them (a malformed request line or header, a
request line over the limit): those error pages now carry the same security headers as the app's pages
and a Chinese body, and no response announces `Server: gunicorn`.
"""

from __future__ import annotations

import html

from gunicorn import util
from gunicorn.http import wsgi as gunicorn_wsgi

from app.security.headers import BASE_HEADERS

# Request limits (gunicorn's defaults, written down): a longer line or header is a 400 from gunicorn.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

_original_default_headers = gunicorn_wsgi.Response.default_headers


def _default_headers(self):
    return [h for h in _original_default_headers(self) if not h.lower().startswith("server:")]


def _write_error(sock, status_int, reason, mesg):
    body = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>请求无法处理</title></head>'
        f"<body><h1>请求无法处理（{int(status_int)}）</h1><p>请求格式错误，请检查后重试。</p>"
        f"<!-- {html.escape(reason)} --></body></html>"
    ).encode()
    head = [f"HTTP/1.1 {int(status_int)} {reason}", "Connection: close", "Content-Type: text/html; charset=utf-8"]
    head += [f"{k}: {v}" for k, v in BASE_HEADERS.items()] + ["Cache-Control: no-store"]
    head.append(f"Content-Length: {len(body)}")
    util.write_nonblock(sock, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


gunicorn_wsgi.Response.default_headers = _default_headers
util.write_error = _write_error

# Prometheus metrics across the web workers (app/ops/metrics.py): each worker writes its request figures
# to files in PROMETHEUS_MULTIPROC_DIR, which must be set before a worker imports prometheus_client; a
# fresh folder per gunicorn start, so figures of a previous run are not added in.
import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

_made_metrics_dir = None
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)
else:
    _made_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ducha-metrics-")

# gunicorn 27's control socket defaults to ~/.gunicorn/gunicorn.ctl: one path for every gunicorn of the
# user, so a second node on the same host takes it over (and ProtectHome= forbids it under systemd).
# Ducha does not use it; HUP/TERM signals do the same.
control_socket_disable = True


def child_exit(server, worker):
    """A worker that exited stops counting in the live gauges (counters and histograms are kept)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _made_metrics_dir:
        shutil.rmtree(_made_metrics_dir, ignore_errors=True)


# The workers' heartbeat (gunicorn touches a temporary file at every turn of its loop): on a tmpfs where
# there is one, not on the disk of /tmp.
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    worker_tmp_dir = "/dev/shm"
