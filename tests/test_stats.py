"""统计分析: figures inside each role's scope, YoY/MoM, and the monthly report as a background PDF job."""

from __future__ import annotations

import io
from datetime import datetime

from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.stats import services
from tests import bpmn_builder
from tests.conftest import page_text, user


def _instances(app, client_for):
    with app.app_context():
        bpmn_builder.deploy_xml("st", bpmn_builder.linear("st", [("node", "审批", {"assignee": "users:hp_leader"})]))
    for login in ("hp_officer", "hp_officer", "xh_officer"):
        client = client_for(login)
        resp = client.post("/inbox/start/st")
        task = int(resp.headers["Location"].rsplit("/", 1)[1])
        client.post(f"/inbox/tasks/{task}/act", data={"action": "complete", "subject": f"{login} 事项"})


def test_figures_follow_scope(app, client_for):
    _instances(app, client_for)
    now = datetime.now(services.SHANGHAI)
    with app.app_context():
        from app.security.scope import scope_for

        city = services.monthly(scope_for(user("leader")), now.year, now.month)
        hp = services.monthly(scope_for(user("hp_leader")), now.year, now.month)
        soe = services.monthly(scope_for(user("soe")), now.year, now.month)
    assert city["figures"]["started"] == 3 and hp["figures"]["started"] == 2 and soe["figures"]["started"] == 0
    assert city["figures"]["tasks_done"] == 3
    assert city["mom"]["started"] is None  # nothing last month: no ratio, not a division by zero
    assert city["by_process"] == [("测试流程", 3)]


def test_month_bounds_are_shanghai_months():
    start, end = services.month_bounds(2026, 1)
    assert start.isoformat() == "2025-12-31T16:00:00+00:00" and end.isoformat() == "2026-01-31T16:00:00+00:00"
    assert services.month_bounds(2026, 12)[1].isoformat() == "2026-12-31T16:00:00+00:00"


def test_stats_page_and_refusals(app, client_for):
    _instances(app, client_for)
    now = datetime.now(services.SHANGHAI)
    page = page_text(client_for("leader").get(f"/stats/?month={now:%Y-%m}"))
    assert "发起流程" in page and "测试流程" in page
    assert client_for("hp_officer").get("/stats/").status_code == 403
    assert client_for("leader").get("/stats/?month=2026-13").status_code == 400
    trend = client_for("hp_leader").get("/stats/trend.json?months=3").get_json()
    assert len(trend["months"]) == 3 and trend["started"][-1] == 2


def test_monthly_report_in_background_with_progress(app, client_for):
    from app.reports import jobs
    from app.reports.models import Document

    _instances(app, client_for)
    leader = client_for("leader")
    now = datetime.now(services.SHANGHAI)
    resp = leader.post("/stats/monthly-report", data={"month": f"{now:%Y-%m}"})
    assert resp.status_code == 302 and "job=" in resp.headers["Location"]
    job_id = int(resp.headers["Location"].rsplit("job=", 1)[1])
    assert jobs.wait_for_jobs(timeout=60)
    status = leader.get(f"/jobs/{job_id}").get_json()
    assert status["status"] == "done" and status["progress"] == 100
    other = client_for("hp_leader").get(f"/jobs/{job_id}", headers={"Accept": "application/json"})
    assert other.status_code == 403
    with app.app_context():
        doc = db.session.scalar(select(Document).where(Document.kind == "monthly_report"))
        assert doc is not None and len(doc.sm3) == 64
        doc_id = doc.id
    pdf = leader.get(f"/documents/{doc_id}/download")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "监管执法统计报告" in text and "总体情况" in text and "环比" in text
