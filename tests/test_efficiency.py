"""效能评估 (R2.4.1): each indicator on hand-made data with known results, the weighted score and ranks,
model versions edited by administrators, the data scope of the result pages."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.efficiency import scoring
from app.efficiency.defaults import ensure_defaults
from app.efficiency.indicators import METRICS, combine, roll_up, score_indicator, weighted_total
from app.efficiency.models import EffModel, EffScore, EffViolation
from app.extensions import db
from app.orgs.models import Organisation
from app.stats.services import month_bounds
from tests.conftest import page_text, user
from tests.efficiency_fixtures import at, clue, hit, inspection, instance, org, street_of, task
from tests.enterprise_fixtures import make_enterprise


def test_score_of_one_indicator_and_the_weighted_total():
    assert score_indicator(None, 5, True) == (None, None)  # no data: not judged
    assert score_indicator(8, 8, True) == (100.0, True)
    assert score_indicator(6, 8, True) == (75.0, False)
    assert score_indicator(0, 0, True) == (100.0, True)
    assert score_indicator(24, 24, False) == (100.0, True)
    assert score_indicator(48, 24, False) == (50.0, False)
    assert weighted_total([(100.0, 20), (50.0, 20), (None, 60)]) == 75.0  # the unknown one carries no weight
    assert weighted_total([(None, 10)]) == 0.0
    m = METRICS["on_time_rate"]
    assert combine(m, 3, 4) == 75.0 and combine(m, 0, 0) is None
    assert combine(METRICS["inspections"], 7, 0) == 7.0


def test_roll_up_sums_a_subtree_into_its_units():
    units = {1: "/C/D1/", 2: "/C/D1/S1/", 3: "/C/D2/"}
    paths = {1: "/C/D1/", 2: "/C/D1/S1/", 3: "/C/D2/", 9: "/C/"}
    totals = roll_up({1: [1, 2], 2: [3, 4], 9: [100, 100]}, units, paths)
    assert totals[1] == [4, 6] and totals[2] == [3, 4] and 3 not in totals  # the city's own row counts nowhere


@pytest.fixture
def march(app):
    """黄浦 (310101) with its first street, and 徐汇 (310104), in March 2026; see each number in the asserts."""
    with app.app_context():
        return _march()


def _march() -> dict:
    hp, xh, s_hp = org("310101"), org("310104"), street_of("310101")
    officer = user("hp_officer")
    ents = [make_enterprise("310101", i, f"黄浦测试企业{i}") for i in range(1, 5)]  # 4 under 黄浦's first street
    make_enterprise("310104", 9, "徐汇测试企业1")
    make_enterprise("310104", 10, "徐汇测试企业2")
    # inspections: the street 3 (2 distinct enterprises), the brigade 1 (a third one), 1 in April (not counted)
    inspection(ents[0], s_hp, date(2026, 3, 2))
    inspection(ents[0], s_hp, date(2026, 3, 9))
    inspection(ents[1], s_hp, date(2026, 3, 10))
    inspection(ents[0], hp, date(2026, 3, 20))
    inspection(ents[2], hp, date(2026, 4, 1))
    # clues closed: 2 in March (one by the street), 1 in February
    clue(hp, registered=at(3, 1), closed=at(3, 5))
    clue(hp, registered=at(3, 1), closed=at(3, 25), handling=s_hp)
    clue(hp, registered=at(2, 1), closed=at(2, 20))
    # tasks of the brigade completed in March: 3 on time (one has no due time), 1 late
    inst = instance("clue_verification", hp)
    task(inst, "judge", created=at(3, 2), done=at(3, 3), due=at(3, 4), by=officer)
    task(inst, "review", created=at(3, 2), done=at(3, 3), by=officer)
    # the two dispatch tasks: taken up after 2 hours (claimed) and finished after 6 hours (never claimed)
    task(inst, "handle", created=at(3, 10, 8), claimed=at(3, 10, 10), done=at(3, 11), due=at(3, 12), by=officer)
    task(inst, "handle", created=at(3, 12, 8), done=at(3, 12, 14), due=at(3, 12, 12), by=officer)
    # one non-compliance record in March
    db.session.add(
        EffViolation(rule_code="x", category="case", ref="r1", org_id=hp.id, summary="超期", occurred_at=at(3, 12))
    )
    # trigger hits closed in March after 3 and 7 days
    hit(ents[0], hp, first=at(3, 1), closed=at(3, 4))
    hit(ents[1], hp, first=at(3, 2), closed=at(3, 9))
    db.session.commit()
    return {"hp": hp.id, "xh": xh.id, "s_hp": s_hp.id}


def _value(metric: str, unit_id: int):
    d0, d1 = date(2026, 3, 1), date(2026, 4, 1)
    t0, t1 = month_bounds(2026, 3)
    orgs = list(db.session.execute(select(Organisation.id, Organisation.path)))
    paths = {o.id: o.path for o in orgs}
    units = {unit_id: paths[unit_id]}
    num, den = roll_up(METRICS[metric].fetch(d0, d1, t0, t1), units, paths).get(unit_id, (0.0, 0.0))
    return combine(METRICS[metric], num, den)


def test_each_indicator_on_hand_made_data(march, ctx):
    hp, xh, s_hp = march["hp"], march["xh"], march["s_hp"]
    assert _value("inspections", hp) == 4 and _value("inspections", s_hp) == 3 and _value("inspections", xh) == 0
    assert _value("inspections_per_100", hp) == 100.0  # 4 inspections / 4 enterprises
    assert _value("inspections_per_100", s_hp) == 75.0
    assert _value("inspections_per_100", xh) == 0.0
    assert _value("coverage", hp) == 50.0  # 2 of 4 enterprises inspected in March
    assert _value("clues_closed", hp) == 2 and _value("clues_closed", s_hp) == 1
    assert _value("on_time_rate", hp) == 75.0 and _value("on_time_rate", xh) is None
    assert _value("violations_per_100", hp) == 25.0  # 1 per 4 completed tasks
    assert _value("response_hours", hp) == 4.0  # (2 + 6) / 2
    assert _value("closure_days", hp) == 5.0  # (3 + 7) / 2
    assert _value("closure_days", xh) is None


def test_monthly_scores_ranks_and_threshold(march, ctx):
    model = ensure_defaults()
    scores = {s.org_id: s for s in scoring.compute_month(model, 2026, 3)}
    db.session.commit()
    hp, xh, s_hp = scores[march["hp"]], scores[march["xh"]], scores[march["s_hp"]]
    # 100x20 + 100x15 + 40x10 + 83.3x20 + 20x15 + 100x10 + 100x10 = 7866 over a weight of 100
    assert hp.total == 78.7 and hp.passed is False and hp.rank == 1 and hp.level == "district"
    assert xh.total == 0.0 and not xh.passed
    # the street: 100x20 + 100x15 + 20x10 over 45 (no tasks, hits or records of its own)
    assert s_hp.total == 82.2 and s_hp.passed and s_hp.level == "street" and s_hp.rank == 1
    # computing again changes nothing and adds no rows
    scoring.compute_month(model, 2026, 3)
    db.session.commit()
    assert db.session.scalar(select(EffScore).where(EffScore.org_id == march["hp"])).total == 78.7
    assert len(db.session.scalars(select(EffScore)).all()) == len(scores)


def test_a_new_model_version_with_another_threshold(app, march, client_for):
    with app.app_context():
        model_id = ensure_defaults().id
        db.session.commit()
    chief = client_for("chief")
    assert chief.post(f"/efficiency/models/{model_id}/new-version").status_code == 302
    with app.app_context():
        draft = db.session.scalar(select(EffModel).where(EffModel.version == 2))
        draft_id, coverage = draft.id, next(i.id for i in draft.indicators if i.metric == "coverage")
        form = {"name": draft.name, "pass_score": "75"}
        for i in draft.indicators:
            form[f"weight_{i.id}"], form[f"threshold_{i.id}"] = str(i.weight), str(i.threshold)
    # bad input: a clear message, the typed values stay on the page, nothing is saved
    resp = chief.post(f"/efficiency/models/{draft_id}", data={**form, f"weight_{coverage}": "很多"})
    assert resp.status_code == 422
    text = page_text(resp)
    assert "“监管企业检查覆盖率”的权重必须是数字" in text and 'value="很多"' in text
    with app.app_context():
        assert db.session.get(EffModel, draft_id).pass_score == 80
    assert chief.post(f"/efficiency/models/{draft_id}", data=form).status_code == 302
    assert chief.post(f"/efficiency/models/{draft_id}/publish").status_code == 302
    with app.app_context():
        assert db.session.get(EffModel, model_id).status == "retired"
        v2 = scoring.published_model()
        assert v2.version == 2 and v2.pass_score == 75
        hp = {s.org_id: s for s in scoring.compute_month(v2, 2026, 3)}[march["hp"]]
        assert hp.total == 78.7 and hp.passed  # the same data passes the lowered line
        db.session.commit()
    # a published version cannot be edited in place; a district leader cannot edit at all
    assert chief.post(f"/efficiency/models/{draft_id}", data=form).status_code == 409
    assert client_for("hp_leader").post(f"/efficiency/models/{draft_id}/new-version").status_code == 403


def test_result_pages_keep_to_the_data_scope(app, march, client_for):
    with app.app_context():
        scoring.compute_month(ensure_defaults(), 2026, 3)
        db.session.commit()
    city = page_text(client_for("leader").get("/efficiency/?period=2026-03"))
    assert "黄浦" in city and "徐汇" in city
    district = client_for("hp_leader")
    text = page_text(district.get("/efficiency/?period=2026-03"))
    assert "黄浦" in text and "徐汇" not in text
    names = district.get("/efficiency/ranking.json?period=2026-03").get_json()["names"]
    assert len(names) == 1 and "黄浦" in names[0]
    compare = page_text(district.get("/efficiency/compare?period=2026-03"))
    assert "徐汇" not in compare
    assert client_for("hp_leader").get("/efficiency/?period=2026-13").status_code == 400  # a clear message


def test_computed_as_a_background_job(app, march, client_for):
    from app.reports import jobs

    with app.app_context():
        ensure_defaults()
        db.session.commit()
    resp = client_for("chief").post("/efficiency/compute", data={"period": "2026-03"})
    assert resp.status_code == 302
    jobs.wait_for_jobs(30)
    with app.app_context():
        _check_job(march)


def _check_job(march):
    from app.reports.models import Job

    job = db.session.scalar(select(Job).where(Job.kind == "efficiency.compute"))
    assert job.status == "done", job.message
    assert "未达标" in job.result["message"]
    assert db.session.scalar(select(EffScore).where(EffScore.org_id == march["hp"])).total == 78.7
