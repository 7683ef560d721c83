"""监督统计分析 query: periods, grouping fields, measures, 同比/环比, the data scope, saved views, XLSX
export and bad input (a clear message, the form keeps what was typed)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from app.extensions import db
from app.security.scope import DataScope
from app.stats import query, summary
from app.stats.models import SavedView
from tests.conftest import page_text
from tests.efficiency_fixtures import at, clue, org
from tests.enterprise_fixtures import make_enterprise

ALL = DataScope(all=True, label="全市")


@pytest.fixture
def clues(app):
    """Clues of 黄浦 and 徐汇 in March 2025, February and March 2026 (known counts per month and source)."""
    with app.app_context():
        hp, xh = org("310101"), org("310104")
        ent = make_enterprise("310101", 1, "黄浦化工", grade="A", industry="HG")
        for _ in range(2):
            clue(hp, registered=at(3, 10, year=2025))
        for _ in range(4):
            clue(hp, registered=at(2, 10), closed=at(2, 12), deadline=date(2026, 2, 11), enterprise=ent)
        for _ in range(3):
            clue(hp, registered=at(3, 5), source="report", enterprise=ent)
        clue(xh, registered=at(3, 6), closed=at(3, 7))
        summary.refresh()
        db.session.commit()


class _Args(dict):
    def getlist(self, key):
        v = self.get(key)
        return v if isinstance(v, list) else ([v] if v else [])


def _q(**kw):
    args = _Args({"subject": "clue", "period": "month", "start": "2026-02-01", "end": "2026-03-31", **kw})
    return query.parse(args, date(2026, 4, 1))


def test_months_with_yoy_and_mom(app, clues, ctx):
    result = query.run(ALL, _q(measure=["n", "closed", "overdue", "closed_rate"]))
    feb, mar = result["series"]
    assert (feb["bucket"], feb["n"], feb["closed"], feb["overdue"], feb["closed_rate"]) == ("2026-02", 4, 4, 4, 100.0)
    assert (mar["bucket"], mar["n"], mar["closed"]) == ("2026-03", 4, 1)
    assert mar["n_mom"] == 0.0 and mar["n_yoy"] == 100.0  # 4 against 4 in February, against 2 in March 2025
    assert feb["n_yoy"] is None  # nothing in February 2025


def test_grouped_by_district_and_source_inside_the_scope(app, clues, ctx):
    rows = query.run(ALL, _q(group=["district", "source"]))["rows"]
    got = {(r["bucket"], *r["groups"]): r["n"] for r in rows}
    assert got[("2026-03", "黄浦区", "举报")] == 3 and got[("2026-02", "黄浦区", "12350热线")] == 4
    assert any(g[1].startswith("徐汇") for g in got)
    scope = DataScope(all=False, path=org("310101").path, label="黄浦")
    own = query.run(scope, _q(group=["district"]))["rows"]
    assert own and all(r["groups"][0].startswith("黄浦") for r in own)
    by_grade = query.run(ALL, _q(group=["grade", "industry"]))["rows"]
    assert {tuple(r["groups"]) for r in by_grade} >= {("A级（重点）", by_grade[0]["groups"][1])}


def test_days_weeks_quarters_and_years(app, clues, ctx):
    days = query.run(ALL, _q(period="day", start="2026-03-04", end="2026-03-06"))["series"]
    assert [(e["bucket"], e["n"]) for e in days] == [("2026-03-04", 0), ("2026-03-05", 3), ("2026-03-06", 1)]
    weeks = query.run(ALL, _q(period="week", start="2026-03-02", end="2026-03-08"))["series"]
    assert [(e["bucket"], e["n"]) for e in weeks] == [("2026-W10", 4)]
    q1 = query.run(ALL, _q(period="quarter", start="2026-01-01", end="2026-03-31"))["series"]
    assert [(e["bucket"], e["n"], e["n_yoy"]) for e in q1] == [("2026Q1", 8, 300.0)]
    years = query.run(ALL, _q(period="year", start="2025-01-01", end="2026-12-31"))["series"]
    assert [(e["bucket"], e["n"]) for e in years] == [("2025", 2), ("2026", 8)]


def test_bad_input_is_refused_with_chinese_messages(app, client_for):
    resp = client_for("leader").get("/stats/query?subject=clue&period=fortnight&start=2026-13-01")
    assert resp.status_code == 422
    text = page_text(resp)
    assert "统计周期只能是日、周、月、季度或年" in text and "开始日期格式应为 年-月-日" in text
    assert 'value="2026-13-01"' in text  # what was typed stays in the form
    resp = client_for("leader").get("/stats/query?start=2026-03-01&end=2026-02-01")
    assert "开始日期不能晚于结束日期" in page_text(resp)
    assert client_for("leader").get("/stats/query.json?group=colour").status_code == 422


def test_page_export_and_saved_views(app, clues, client_for):
    leader = client_for("leader")
    url = "/stats/query?subject=clue&period=month&start=2026-02-01&end=2026-03-31&group=district"
    text = page_text(leader.get(url))
    assert "黄浦区" in text and "同比" in text and "data-query-series" in text
    district = page_text(client_for("hp_leader").get(url))
    assert "黄浦区" in district and "徐汇" not in district
    resp = leader.get(url.replace("/stats/query?", "/stats/query.xlsx?"))
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("统计月", "区", "数量") and ("2026-03", "黄浦区", 3, 0, 0) in rows
    resp = leader.post(
        "/stats/views",
        data={
            "name": "各区月度线索",
            "subject": "clue",
            "period": "month",
            "group": "district",
            "measure": ["n", "closed"],
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        view = db.session.query(SavedView).one()
        assert view.params["group"] == ["district"] and "start" not in view.params
    assert "各区月度线索" in page_text(leader.get("/stats/query"))
    assert client_for("hp_leader").get(f"/stats/query?view={view.id}").status_code == 404  # not shared
    assert "请填写视图名称" in page_text(leader.post("/stats/views", data={"name": " "}, follow_redirects=True))


def test_the_monthly_roll_up_gives_what_the_daily_rows_give(app, clues, ctx):
    everything_daily = DataScope(all=False, path="/", label="全部（按日表）")  # same orgs, but never the roll-up
    for period, groups, start in (
        ("month", ["district", "source"], "2026-02-10"),
        ("quarter", ["grade"], "2025-01-01"),
    ):
        q = _q(period=period, group=groups, start=start, end="2026-03-20", measure=["n", "closed", "avg_hours"])
        assert query._parts(ALL, q, date(2025, 2, 10))[0][0].__tablename__ == "stats_monthly"
        city, daily = query.run(ALL, q), query.run(everything_daily, q)
        assert city["rows"] == daily["rows"] and city["series"] == daily["series"] and city["rows"]
