"""月报/季报/年报: generated on schedule as PDF with charts drawn as SVG, reviewed and signed off in the
inbox, numbered at sign-off and listed in 文书管理."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from app.engine.runtime import SHANGHAI
from app.extensions import db
from app.inbox.models import HumanTask
from app.reports import jobs
from app.reports.models import Document
from app.reports.render import render_html
from app.stats import periodic, summary, svg
from tests.conftest import page_text
from tests.efficiency_fixtures import at, clue, inspection, org
from tests.enterprise_fixtures import make_enterprise


def _deploy(app):
    from app.engine import deploy

    deploy.deploy(deploy.sources_from_files(Path(app.config["WORKFLOWS_DIR"]) / "periodic_report.bpmn"))


@pytest.fixture
def data(app):
    with app.app_context():
        _deploy(app)
        hp = org("310101")
        ent = make_enterprise("310101", 1, "黄浦化工")
        for d in (3, 3, 9):
            clue(hp, registered=at(3, d), closed=at(3, d + 1))
        inspection(ent, hp, date(2026, 3, 5))
        summary.refresh()
        db.session.commit()


def test_periods_and_schedule():
    assert periodic.period_bounds("stats_quarterly", "2026Q1")[:2] == (date(2026, 1, 1), date(2026, 3, 31))
    assert periodic.period_bounds("stats_monthly", "2026-02")[1] == date(2026, 2, 28)
    assert periodic.due_reports(date(2026, 4, 2)) == [("stats_monthly", "2026-03"), ("stats_quarterly", "2026Q1")]
    assert ("stats_yearly", "2025") in periodic.due_reports(date(2026, 1, 1))
    with pytest.raises(Exception, match="统计期间格式不正确"):
        periodic.period_bounds("stats_monthly", "2026-13")


def test_svg_chart_draws_bars_lines_and_no_data():
    bars = svg.chart(["黄浦", "徐汇<b>"], [("检查次数", [3, 1])], title="各区")
    assert bars.startswith("<svg") and bars.count("<rect") == 3 and "徐汇&lt;b&gt;" in bars  # 2 bars + legend
    line = svg.chart(["01", "02"], [("登记", [1, 2])], kind="line")
    assert "<polyline" in line
    assert "无数据" in svg.chart([], [])


def _open(app, step):
    with app.app_context():
        return db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open", HumanTask.step == step))


def test_monthly_report_reviewed_signed_and_listed(app, data, client_for):
    chief = client_for("chief")
    resp = chief.post("/stats/periodic", data={"kind": "stats_monthly", "period": "2026-03"})
    assert resp.status_code == 302
    jobs.wait_for_jobs(60)
    with app.app_context():
        doc = db.session.scalar(select(Document).where(Document.kind == "stats_monthly"))
        assert doc.status == "draft" and doc.ready and doc.title == "2026年3月监督执法统计月报"
        html = render_html(doc.template, doc.context)
        assert html.count("<svg") == 2 and "各区检查次数" in html and "线索核查" in html
        assert doc.context["subjects"][2]["n"] == 3  # 线索核查: three clues in March
    # the same period again: the same document, no second process
    chief.post("/stats/periodic", data={"kind": "stats_monthly", "period": "2026-03"})
    review = _open(app, "review")
    assert review and "2026年3月" in page_text(chief.get(f"/inbox/tasks/{review}"))
    resp = chief.post(f"/inbox/tasks/{review}/act", data={"action": "approve", "comment": "数据核对无误"})
    assert resp.status_code == 302
    sign = _open(app, "sign")
    resp = client_for("leader").post(f"/inbox/tasks/{sign}/act", data={"action": "approve", "comment": "同意签发"})
    assert resp.status_code == 302, page_text(resp)
    jobs.wait_for_jobs(60)
    with app.app_context():
        docs = db.session.scalars(select(Document).where(Document.kind == "stats_monthly")).all()
        assert len(docs) == 1
        doc = docs[0]
        assert doc.status == "signed" and doc.number == "沪应急执统〔2026〕1号" and doc.signer_name == "周建国"
        assert doc.ready and doc.sm3
    listing = page_text(client_for("leader").get("/documents"))
    assert "统计月报" in listing and "沪应急执统〔2026〕1号" in listing
    bad = chief.post("/stats/periodic", data={"kind": "stats_monthly", "period": "三月"})
    assert bad.status_code == 422 and "统计期间格式不正确" in page_text(bad)
    assert client_for("hp_leader").post("/stats/periodic", data={"kind": "stats_monthly"}).status_code == 403


def test_generated_on_schedule(app, data):
    from app.stats.jobs import periodic_job

    app.config["STATS_PERIODIC_REPORTS"] = True
    try:
        with app.app_context(), time_machine.travel(datetime(2026, 4, 2, 1, tzinfo=SHANGHAI), tick=False):
            assert periodic_job(datetime(2026, 4, 2, 1, tzinfo=SHANGHAI)) == 2
            db.session.commit()
            assert periodic_job(datetime(2026, 4, 2, 2, tzinfo=SHANGHAI)) == 0  # once per period
            kinds = sorted(d.kind for d in db.session.scalars(select(Document)))
            assert kinds == ["stats_monthly", "stats_quarterly"]
    finally:
        app.config.pop("STATS_PERIODIC_REPORTS")
    jobs.wait_for_jobs(60)
