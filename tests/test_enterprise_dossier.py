"""一企一档 and the enterprise search: name, credit code, address; facts with source and date; scope per role."""

from __future__ import annotations

from datetime import date

import pytest

from app.extensions import db
from tests.conftest import page_text
from tests.enterprise_fixtures import add_record, make_enterprise


@pytest.fixture
def ents(app):
    with app.app_context():
        hp = make_enterprise("310101", 1, "上海申江化工贸易有限公司", grade="B", address="上海市黄浦区中山南路 88 号")
        hp2 = make_enterprise("310101", 2, "上海久事公交维修有限公司", grade="C", industry="JX", soe_code="SOE-JS")
        xh = make_enterprise("310104", 3, "上海徐汇冷链物流有限公司", grade="D", industry="SM")
        add_record(
            hp,
            "major_hazard",
            date(2026, 3, 1),
            "液氯储罐区构成二级重大危险源",
            {"level": 2},
            source="数据交换：市危化品监管系统",
        )
        add_record(hp, "accident", date(2026, 5, 9), "储罐区一般事故，1 人受伤", {"deaths": 0, "injuries": 1})
        db.session.commit()
        return {"hp": (hp.id, hp.credit_code), "hp2": (hp2.id, hp2.credit_code), "xh": (xh.id, xh.credit_code)}


def test_search_by_name_code_and_address(client_for, ents):
    c = client_for("city_officer")
    assert "上海申江化工贸易有限公司" in page_text(c.get("/enterprises/?q=申江"))
    by_code = page_text(c.get(f"/enterprises/?q={ents['hp'][1]}"))
    assert "上海申江化工贸易有限公司" in by_code and "徐汇冷链" not in by_code
    by_address = page_text(c.get("/enterprises/?q=中山南路"))
    assert "申江化工" in by_address and "久事公交" not in by_address
    by_grade = page_text(c.get("/enterprises/?grade=D"))
    assert "徐汇冷链" in by_grade and "申江化工" not in by_grade


def test_dossier_shows_facts_with_source_and_date(client_for, ents):
    text = page_text(client_for("hp_officer").get(f"/enterprises/{ents['hp'][0]}"))
    assert "液氯储罐区构成二级重大危险源" in text and "数据交换：市危化品监管系统" in text and "2026-03-01" in text
    assert "储罐区一般事故" in text and "2026-05-09" in text
    assert "危险化学品" in text and "黄浦" in text  # names, not codes


@pytest.mark.parametrize(
    "login, sees, hidden",
    [
        ("leader", {"hp", "hp2", "xh"}, set()),  # city
        ("hp_officer", {"hp", "hp2"}, {"xh"}),  # district
        ("xh_officer", {"xh"}, {"hp", "hp2"}),
        ("hp_street", {"hp", "hp2"}, {"xh"}),  # street: the enterprises it supervises
        ("soe", {"hp2"}, {"hp", "xh"}),  # SOE group: its member enterprises only
    ],
)
def test_scope_per_role(client_for, ents, login, sees, hidden):
    c = client_for(login)
    listing = page_text(c.get("/enterprises/"))
    names = {"hp": "申江化工", "hp2": "久事公交", "xh": "徐汇冷链"}
    for key in sees:
        assert names[key] in listing
        assert c.get(f"/enterprises/{ents[key][0]}").status_code == 200
    for key in hidden:
        assert names[key] not in listing
        assert c.get(f"/enterprises/{ents[key][0]}").status_code == 404


@pytest.mark.parametrize("login", ["leader", "hp_officer", "hp_street", "soe", "procadmin"])
def test_area_pages_render_for_each_role(client_for, ents, login):
    c = client_for(login)
    pages = ["/grading/", "/labels/", "/labels/library", "/triggers/", "/checks/"]
    if login == "procadmin":
        pages = ["/grading/models", "/triggers/rules"]
    for url in pages:
        resp = c.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
