"""deploy/: the compose file has every part, nginx passes the client address, and every metric the
Grafana dashboard and the alert rules query is one that /metrics really exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_compose_has_every_part():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in (
        "nginx",
        "app1",
        "app2",
        "scheduler1",
        "worker1",
        "postgres-primary",
        "postgres-replica",
        "redis",
        "minio",
        "migrate",
    ):
        assert name in services, name
    app = services["app1"]
    assert app["environment"]["DUCHA_PROXY_COUNT"] == "1"
    assert app["environment"]["DUCHA_RATELIMIT_STORAGE_URI"].startswith("redis://")
    assert services["scheduler1"]["environment"]["DUCHA_SCHEDULER"] == "1"
    assert services["scheduler1"]["environment"]["DATABASE_URL"] == app["environment"]["DATABASE_URL"]
    assert list(services["nginx"]["ports"]) == ["443:443", "80:80"]  # nothing else is published


def test_nginx_forwards_one_hop_and_hides_metrics():
    conf = (DEPLOY / "nginx" / "nginx.conf").read_text()
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in conf
    assert "X-Forwarded-Proto $scheme" in conf
    assert re.search(r"location = /metrics \{ return 404; \}", conf)


def test_dashboard_and_alerts_query_real_metrics(client):
    exposed = client.get("/metrics").get_data(as_text=True)
    client.get("/healthz")
    exposed += client.get("/metrics").get_data(as_text=True)
    names = set(re.findall(r"^(ducha_[a-z_]+)", exposed, re.M))
    suffixes = {"counter": ["", "_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}
    for name, kind in re.findall(r"^# TYPE (ducha_[a-z_]+) (\w+)", exposed, re.M):  # families without samples yet
        names.update(name + suffix for suffix in suffixes.get(kind, [""]))
    dashboard = json.loads((DEPLOY / "grafana" / "ducha.json").read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    queries += [
        r["expr"]
        for g in yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
        for r in g["rules"]
    ]
    used = {m for q in queries for m in re.findall(r"ducha_[a-z_]+", q)}
    assert used and used <= names, used - names
