"""Attack: SSRF through the http.call service task (issue 14).

A process administrator's 触发器 pointing at 127.0.0.1 (the app itself), hex or decimal loopback or a
private range used to be called, and up to 64 KiB of the answer was stored where the initiator could read
it. A loopback listener stands in for the internal service: it must never receive a request."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.designer.outbound import check_url
from app.engine.errors import EngineError
from app.engine.models import Incident, ProcessInstance
from app.extensions import db
from tests.test_designer_compile import _http_tree, deploy_tree

SECRET = {"internal": "数据库口令 s3cr3t"}


class _Internal(BaseHTTPRequestHandler):
    hits: list = []

    def _answer(self):
        _Internal.hits.append(self.path)
        body = json.dumps(SECRET, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def internal():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Internal)
    _Internal.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.mark.parametrize("host", ["127.0.0.1", "0x7f000001", "2130706433", "127.1", "localhost"])
def test_trigger_cannot_reach_loopback_through_a_started_process(app, ctx, login_as, internal, host):
    pid = "ssrf_" + host.replace(".", "_")
    deploy_tree(_http_tree(pid, f"http://{host}:{internal}/admin/secret"))
    resp = login_as("hp_officer").post(
        f"/inbox/start/{pid}", data={"subject": "越权探测", "category": "other", "amount": "1"}
    )
    assert resp.status_code == 302
    assert _Internal.hits == []  # the internal service never saw a request
    inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.process_id == pid))
    assert inst.status == "error"
    incident = db.session.scalar(select(Incident).where(Incident.instance_id == inst.id))
    assert "内部地址" in incident.message and "服务器端请求伪造" in incident.message
    assert "s3cr3t" not in json.dumps(inst.state, default=str, ensure_ascii=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://0177.0.0.1/",
        "http://017700000001/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "https://255.255.255.255/",
    ],
)
def test_internal_addresses_are_refused_in_every_encoding(ctx, url):
    with pytest.raises(EngineError, match="内部地址"):
        check_url(url)


def test_continue_on_error_does_not_call_either(app, ctx, internal):
    from app.designer.service_tasks import http_call

    result = http_call({}, url=f"http://127.0.0.1:{internal}/", onError="continue")
    assert result["ok"] is False and "内部地址" in result["error"] and _Internal.hits == []


def test_allow_list_is_required_in_production(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    monkeypatch.setitem(app.config, "HTTP_CALL_ALLOWED_HOSTS", "")
    with pytest.raises(EngineError, match="生产环境未配置允许调用的主机"):
        check_url("https://hooks.example.gov.cn/notify")
    monkeypatch.setitem(app.config, "HTTP_CALL_ALLOWED_HOSTS", "hooks.example.gov.cn")
    with pytest.raises(EngineError, match="不在允许列表"):
        check_url("https://other.example.gov.cn/notify")
    with pytest.raises(EngineError, match="用户名或密码"):
        check_url("https://user:pw@hooks.example.gov.cn/")


def test_an_opened_internal_network_is_called(app, ctx, monkeypatch, internal):
    """The operator can open an internal system's network on purpose; then the call goes through."""
    from app.designer.service_tasks import http_call

    monkeypatch.setitem(app.config, "HTTP_CALL_ALLOWED_NETWORKS", "127.0.0.1/32")
    result = http_call({}, url=f"http://127.0.0.1:{internal}/ok")
    assert result == {"ok": True, "status": 200, "body": SECRET} and _Internal.hits == ["/ok"]
