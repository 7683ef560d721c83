"""Operations: /metrics, /readyz, request ids and JSON logs, ProxyFix, production settings, retention."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from app import create_app
from app.config import ConfigError, load_config
from app.extensions import db
from app.models_base import utcnow


def _metric(text: str, name: str, labels: str = "") -> float:
    prefix = f"{name}{{{labels}}} " if labels else f"{name} "
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    assert lines, f"{prefix!r} not in metrics"
    return float(lines[0].split()[-1])


def test_metrics_loopback_only_without_token(app, client, monkeypatch):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 404
    resp = client.get("/metrics")  # the test client is 127.0.0.1
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "s3cret-token")
    assert client.get("/metrics").status_code == 404  # a token set: loopback alone is not enough
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    ok = client.get(
        "/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}, headers={"Authorization": "Bearer s3cret-token"}
    )
    assert ok.status_code == 200


def test_metrics_show_requests_inbox_jobs_incidents_and_login_failures(app, client, ctx):
    from app.reports.models import Job

    client.post("/login", data={"login": "hp_officer", "password": "wrong-password"})
    client.get("/healthz")
    db.session.add(Job(kind="export", status="queued", progress=0, attempts=0, max_attempts=3))
    db.session.add(Job(kind="export", status="failed", progress=0, attempts=3, max_attempts=3))
    db.session.commit()
    text = client.get("/metrics").get_data(as_text=True)
    assert (
        _metric(
            text, "ducha_http_request_duration_seconds_count", 'endpoint="portal.healthz",method="GET",status="2xx"'
        )
        >= 1
    )
    assert _metric(text, "ducha_login_failures_recent") == 1
    assert _metric(text, "ducha_jobs", 'status="queued"') == 1
    assert _metric(text, "ducha_jobs", 'status="failed"') == 1
    assert _metric(text, "ducha_incidents_open") == 0
    assert _metric(text, "ducha_timer_lag_seconds") == 0
    assert "ducha_inbox_open_tasks" in text and "ducha_scheduler_heartbeat_age_seconds" in text


def test_metrics_timer_lag_and_inbox_by_role(app, client, ctx):
    from app.engine.models import Incident, ProcessInstance
    from app.inbox import actions
    from tests.conftest import deploy_test_process, user

    deploy_test_process("timer_short")
    instance = actions.start("timer_short", actor=user("hp_officer"))
    db.session.commit()
    instance.next_timer_at = utcnow() - timedelta(seconds=90)
    db.session.add(Incident(instance_id=instance.id, step="wait", message="脚本错误"))
    db.session.commit()
    text = client.get("/metrics").get_data(as_text=True)
    assert 89 <= _metric(text, "ducha_timer_lag_seconds") < 200
    assert _metric(text, "ducha_timers_due") == 1
    assert _metric(text, "ducha_incidents_open") == 1
    assert sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("ducha_inbox_open_tasks{")) >= 1
    assert db.session.get(ProcessInstance, instance.id) is not None


def test_request_id_passed_through_or_created(client):
    resp = client.get("/healthz", headers={"X-Request-ID": "abc-123.x"})
    assert resp.headers["X-Request-ID"] == "abc-123.x"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"]
    assert made != "bad id <script>" and len(made) == 32


def test_json_access_log_carries_request_id(app, client, monkeypatch, caplog):
    from app.ops.requestlog import JsonFormatter, access_log

    monkeypatch.setitem(app.config, "ACCESS_LOG", True)
    monkeypatch.setattr(access_log, "disabled", False)  # alembic's fileConfig (the test migration) disables it
    with caplog.at_level(logging.INFO, logger="ducha.access"):
        client.get("/healthz", headers={"X-Request-ID": "req-42"})
    record = next(r for r in caplog.records if r.name == "ducha.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-42" and line["status"] == 200 and line["endpoint"] == "portal.healthz"
    assert line["path"] == "/healthz" and line["duration_ms"] >= 0


def test_readyz_needs_a_scheduler_heartbeat(app, client, ctx):
    from app.engine import timers

    resp = client.get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 503 and body["checks"]["database"]["ok"]
    assert body["checks"]["migrations"]["ok"], body  # the test database was migrated to head
    assert not body["checks"]["scheduler"]["ok"]
    timers.heartbeat(0)
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "ready"


def test_readyz_reports_schema_behind_head(app, client, ctx):
    from sqlalchemy import text

    from app.engine import timers

    timers.heartbeat(0)
    current = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.execute(text("UPDATE alembic_version SET version_num = 'old0000rev'"))
    db.session.commit()
    try:
        body = client.get("/readyz").get_json()
        assert body["status"] == "not_ready" and not body["checks"]["migrations"]["ok"]
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})
        db.session.commit()


def test_proxy_count_gives_audit_and_throttling_the_client_address(app):
    from app.audit.models import AuditEntry

    keys = ("SQLALCHEMY_DATABASE_URI", "INSTANCE_DIR", "UPLOAD_DIR", "PASSWORD_ITERATIONS", "AUDIT_CHECKPOINT_INTERVAL")
    proxied = create_app(
        {
            **{k: app.config[k] for k in keys},
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "PROXY_COUNT": 1,
            "LOGIN_RATE_LIMIT": "2 per minute",
            "TOTP_REQUIRED_PERMISSIONS": [],
        }
    )
    c = proxied.test_client()

    def attempt(forwarded: str):
        return c.post(
            "/login", data={"login": "hp_officer", "password": "nope-nope"}, headers={"X-Forwarded-For": forwarded}
        )

    # The client forged a first hop; nginx appended the real address: only the last hop is trusted.
    assert attempt("1.1.1.1, 203.0.113.5").status_code != 429
    assert attempt("203.0.113.5").status_code != 429
    assert attempt("203.0.113.5").status_code == 429  # the third from that address within a minute
    assert attempt("203.0.113.6").status_code != 429  # another client behind the same proxy is not blocked
    with proxied.app_context():
        try:
            ips = {e.ip for e in db.session.query(AuditEntry).filter_by(action="login.failed")}
        finally:
            db.session.remove()
            db.engine.dispose()  # this second app's pool, closed now rather than at garbage collection
        assert "203.0.113.5" in ips and "1.1.1.1" not in ips and "127.0.0.1" not in ips


def test_production_settings_checked_at_start(monkeypatch, tmp_path):
    for key in ("SECRET_KEY", "PASSWORD_PEPPER", "AUDIT_KEY"):
        monkeypatch.setenv(f"DUCHA_{key}", "p" * 40)
    monkeypatch.setenv("DUCHA_ENV", "production")
    monkeypatch.setenv("DUCHA_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DUCHA_RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.setenv("DUCHA_PROXY_COUNT", "1")
    with pytest.raises(ConfigError) as err:
        create_app()
    message = str(err.value)
    assert "DATABASE_URL" in message and "RATELIMIT_STORAGE_URI" in message and "METRICS_TOKEN" in message
    from app.ops.settings_check import problems

    cfg = load_config(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@db/ducha",
            "RATELIMIT_STORAGE_URI": "redis://r:6379/0",
            "METRICS_TOKEN": "t" * 32,
            "GATEWAY_TOKEN": "g" * 32,
            "GATEWAY_WEBHOOK_SECRET": "w" * 32,
        }
    )
    assert problems(cfg) == []
    # the device simulator's credentials are refused in production
    dev = {**cfg, "GATEWAY_TOKEN": "ducha-devicesim-token", "GATEWAY_WEBHOOK_SECRET": "ducha-devicesim-webhook"}
    assert sum("GATEWAY" in p for p in problems(dev)) == 2
    assert any("AUDIT_RETENTION_DAYS" in p for p in problems({**cfg, "AUDIT_RETENTION_DAYS": 90}))
    assert any("SECRET_KEY" in p for p in problems({**cfg, "SECRET_KEY": "short"}))
    assert any("PROXY_COUNT" in p for p in problems({**cfg, "PROXY_COUNT": -1}))
