"""督查业务统计大屏 and 专题展示: today's figures, overdue by district, trends and ranking inside the data
scope; topics chosen by administrators."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.models_base import utcnow
from app.stats import summary
from tests.conftest import page_text, user
from tests.efficiency_fixtures import clue, instance, org, task


def _today_data(app):
    with app.app_context():
        now = utcnow()
        hp, xh = org("310101"), org("310104")
        clue(hp, registered=now)
        clue(xh, registered=now)
        clue(hp, registered=now - timedelta(days=3))
        inst = instance("trigger_dispatch", hp)
        task(inst, "handle", created=now - timedelta(days=2), due=now - timedelta(hours=1), by=user("hp_officer"))
        task(inst, "handle", created=now, due=now + timedelta(days=1))
        summary.refresh()
        db.session.commit()


def test_screen_data_in_scope(app, client_for):
    _today_data(app)
    city = client_for("leader").get("/screen/data.json").get_json()
    assert city["scope"] == "全市" and city["today"]["clues"] == 2 and city["today"]["overdue"] == 1
    assert city["today"]["dispatches"] == 1
    assert city["overdue"]["names"] == ["黄浦区"] or city["overdue"]["names"][0].startswith("黄浦")
    assert sum(city["trend"]["clue"]) == 3 and len(city["trend"]["days"]) == 30
    district = client_for("xh_leader").get("/screen/data.json").get_json()
    assert district["today"]["clues"] == 1 and district["today"]["overdue"] == 0 and district["overdue"]["names"] == []
    page = client_for("leader").get("/screen/")
    assert page.status_code == 200 and 'data-screen-url="/screen/data.json"' in page.get_data(as_text=True)


def test_topics_chosen_by_administrators(app, client_for):
    chief = client_for("chief")
    resp = chief.post("/screen/topics", data={"code": "Bad Code", "title": "", "subject": "clue"})
    assert resp.status_code == 422
    text = page_text(resp)
    assert "专题代码应为" in text and "请至少选择一个展示板块" in text and 'value="Bad Code"' in text
    resp = chief.post(
        "/screen/topics",
        data={"code": "clues", "title": "线索核查专题", "subject": "clue", "panels": ["trend", "sources", "nope"]},
    )
    assert resp.status_code == 302
    page = client_for("leader").get("/screen/topics/clues").get_data(as_text=True)
    assert "线索核查专题" in page and 'data-panel="sources"' in page and 'data-panel="ranking"' not in page
    assert "线索核查专题" in page_text(client_for("leader").get("/screen/topics"))
    assert client_for("hp_leader").post("/screen/topics", data={"code": "x1"}).status_code == 403
    assert chief.post("/screen/topics/clues/remove").status_code == 302
    assert client_for("leader").get("/screen/topics/clues").status_code == 404
