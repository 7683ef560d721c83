"""The grade model: DMN-scored indicators with an explanation per entry, event and nightly recomputation
(a controllable clock), model versions validated, dry-run over all enterprises and published."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.engine.runtime import SHANGHAI
from app.enterprises.models import Enterprise, EnterpriseRecord
from app.extensions import db
from app.grading import events, services
from app.grading.models import EnterpriseScore, GradeModel, ScoreHistory
from tests.conftest import page_text
from tests.enterprise_fixtures import add_record, make_enterprise

NOON = datetime(2026, 6, 15, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture
def graded(app):
    with time_machine.travel(NOON, tick=False), app.app_context():
        today = NOON.date()
        risky = make_enterprise("310101", 1, "上海申江化工贸易有限公司", grade="C")
        plain = make_enterprise("310101", 2, "上海恒泰建材有限公司", grade="C", industry="JC")
        add_record(risky, "accident", today - timedelta(days=400), "储罐区一般事故", {"deaths": 0, "injuries": 1})
        add_record(risky, "major_hazard", today - timedelta(days=100), "构成二级重大危险源", {"level": 2})
        add_record(plain, "standardisation", today - timedelta(days=30), "安全生产标准化二级", {"level": 2})
        add_record(plain, "insurance", today - timedelta(days=30), "安责险", {"valid_until": "2027-01-31"})
        result = services.recompute(reason="测试")
        db.session.commit()
        return {"risky": risky.id, "plain": plain.id, "result": result}


def test_each_score_explains_itself(app, graded, client_for):
    with app.app_context():
        score = db.session.get(EnterpriseScore, graded["risky"])
        # acc_one 25 + mh_high 20 + std_none 8 + ins_none 6 = 59 -> A (>= 45)
        assert score.total == 59 and score.grade == "A"
        codes = {e["code"]: e for e in score.entries}
        assert set(codes) == {"acc_one", "mh_high", "std_none", "ins_none"}
        assert codes["acc_one"]["rule"] == "enterprise_points#Rule_acc_one" and codes["acc_one"]["value"] == 1
        assert codes["mh_high"]["value"] == 2 and "重大危险源" in codes["mh_high"]["data"]
        assert score.model.version == 1 and db.session.get(Enterprise, graded["risky"]).grade == "A"
        plain = db.session.get(EnterpriseScore, graded["plain"])
        assert plain.total == -4 and plain.grade == "D"  # std_two only
    text = page_text(client_for("hp_officer").get(f"/enterprises/{graded['risky']}"))
    # the rule as an identifier of the points table (not the raw "enterprise_points#Rule_acc_one")
    assert "积分规则表 · 规则 <code>acc_one</code>" in text and "enterprise_points#" not in text
    assert "近三年事故起数 = 1" in text and "第 1 版" in text


def test_unchanged_data_writes_nothing(app, graded):
    with time_machine.travel(NOON, tick=False), app.app_context():
        before = db.session.scalar(select(func.count(ScoreHistory.id)))
        again = services.recompute(reason="再算一次")
        assert again["changed"] == 0 and again["scanned"] == 2
        assert db.session.scalar(select(func.count(ScoreHistory.id))) == before


def test_clue_closed_as_substantiated_moves_the_score_at_once(app, graded):
    from app.clues import process as clue_process
    from app.clues.models import Clue
    from app.orgs.models import Organisation

    with time_machine.travel(NOON, tick=False), app.app_context():
        district = db.session.scalar(select(Organisation).where(Organisation.code == "310101"))
        clue = Clue(
            source="report",
            content="反映企业违规动火",
            enterprise_id=graded["plain"],
            enterprise_name="上海恒泰建材有限公司",
            district_org_id=district.id,
            status="reviewing",
        )
        db.session.add(clue)
        db.session.flush()
        clue_process._close(clue, "substantiated", {})  # what the process's sign-off step runs
        db.session.commit()
        score = db.session.get(EnterpriseScore, graded["plain"])
        assert "clue_one" in {e["code"] for e in score.entries} and score.total == 8 and score.grade == "C"
        last = db.session.scalar(
            select(ScoreHistory)
            .where(ScoreHistory.enterprise_id == graded["plain"])
            .order_by(ScoreHistory.id.desc())
            .limit(1)
        )
        assert last.previous_grade == "D" and last.grade == "C" and "线索核查属实" in last.reason
        change = db.session.scalar(select(EnterpriseRecord).where(EnterpriseRecord.kind == "grade_change"))
        assert change.value == {"from": "D", "to": "C", "worse": True, "total": 8}


def test_nightly_job_with_a_job_worker_is_queued_there_not_run_in_the_scheduler(app, graded):
    """With JOBS_RUNNER=worker the scheduler's pass only decides; the recompute runs in the job worker,
    once per night and not in the day (a scheduler started at 10:00 does not recompute)."""
    from app.reports import jobs
    from app.reports.models import Job

    app.config["JOBS_RUNNER"] = "worker"
    try:
        ten = datetime(2026, 6, 16, 10, 0, tzinfo=SHANGHAI)
        with time_machine.travel(ten, tick=False), app.app_context():
            assert events.nightly(ten) is None
            db.session.commit()
            assert db.session.scalar(select(func.count(Job.id))) == 0
        at_two = datetime(2026, 6, 16, 2, 0, tzinfo=SHANGHAI)
        with time_machine.travel(at_two, tick=False), app.app_context():
            assert events.nightly(at_two) is None  # queued, not run here
            db.session.commit()
            assert events.nightly(at_two + timedelta(minutes=1)) is None
            db.session.commit()
            queued = db.session.scalars(select(Job)).all()
            assert [(j.kind, j.dedup_key, j.status) for j in queued] == [
                ("round.heavy", "round:grading.nightly", "queued")
            ]
            assert events.last_nightly().detail == {"state": "queued"}
            job_id = queued[0].id
        with time_machine.travel(at_two + timedelta(minutes=2), tick=False):
            assert jobs.execute(app, job_id) == "done"
        with app.app_context():
            mark = events.last_nightly()
            assert mark.last_day == "2026-06-16" and mark.detail["scanned"] == 2
            assert "后台定时任务" in db.session.get(Job, job_id).message
    finally:
        app.config["JOBS_RUNNER"] = "thread"


def test_nightly_job_runs_once_a_day_after_its_hour_and_sees_time_pass(app, graded):
    night = datetime(2026, 6, 16, 0, 30, tzinfo=SHANGHAI)
    with time_machine.travel(night, tick=False), app.app_context():
        assert events.nightly(night) is None  # before 01:00
    at_one = night.replace(hour=1, minute=5)
    with time_machine.travel(at_one, tick=False), app.app_context():
        result = events.nightly(at_one)
        db.session.commit()
        assert result["scanned"] == 2 and result["changed"] == 0
        assert events.nightly(at_one + timedelta(hours=3)) is None  # once a day
    # 3 years after the accident it leaves the window: the nightly run lowers the grade by itself.
    later = datetime(2029, 5, 12, 1, 30, tzinfo=SHANGHAI)
    with time_machine.travel(later, tick=False), app.app_context():
        result = events.nightly(later)
        db.session.commit()
        score = db.session.get(EnterpriseScore, graded["risky"])
        assert result["grade_changed"] >= 1 and "acc_one" not in {e["code"] for e in score.entries}
        assert score.total == 34 and score.grade == "B" and score.reason.startswith("每日重算 2029-05-12")


def test_model_version_validate_dry_run_publish(app, graded, client_for):
    c = client_for("procadmin")
    resp = c.post("/grading/models/new")
    assert resp.status_code == 302
    model_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        draft = db.session.get(GradeModel, model_id)
        points, grade = draft.points_dmn, draft.grade_dmn
    # Broken XML and a wrong entry are refused with Chinese messages; nothing is saved.
    bad = c.post(f"/grading/models/{model_id}", data={"points_dmn": points[:200], "grade_dmn": grade})
    assert bad.status_code == 422 and "XML" in page_text(bad)
    broken = grade.replace("&gt;= 45", "&gt;== 45")
    bad = c.post(f"/grading/models/{model_id}", data={"points_dmn": points, "grade_dmn": broken})
    assert bad.status_code == 422 and "决策表校验未通过" in page_text(bad)
    # Publishing before a dry run is refused.
    assert c.post(f"/grading/models/{model_id}/publish").status_code == 422
    # Raise the A threshold to 70: the risky enterprise (59) would move to B, the plain one stays D.
    stricter = grade.replace("&gt;= 45", "&gt;= 70")
    assert (
        c.post(
            f"/grading/models/{model_id}",
            data={"points_dmn": points, "grade_dmn": stricter, "note": "A 级门槛提高到 70 分"},
        ).status_code
        == 302
    )
    c.post(f"/grading/models/{model_id}/dryrun")
    text = page_text(c.get(f"/grading/models/{model_id}"))
    assert "2 家企业中 1 家等级将变化" in text and "A→B：1" in text and "上海申江化工贸易有限公司" in text
    with app.app_context():
        assert db.session.get(Enterprise, graded["risky"]).grade == "A"  # the dry run wrote nothing
    assert c.post(f"/grading/models/{model_id}/publish").status_code == 302
    with app.app_context():
        assert db.session.get(Enterprise, graded["risky"]).grade == "B"
        score = db.session.get(EnterpriseScore, graded["risky"])
        assert score.model.version == 2 and score.reason == "模型发布：第 2 版"
        assert db.session.scalar(select(GradeModel.status).where(GradeModel.version == 1)) == "retired"


def test_display_by_district_and_industry_with_drill_down(app, graded, client_for):
    with time_machine.travel(NOON, tick=False), app.app_context():
        services.snapshot("2026-05")  # last month's snapshot: both enterprises C then
        db.session.execute(db.text("UPDATE grade_snapshots SET grade = 'C' WHERE month = '2026-05'"))
        db.session.commit()
    with time_machine.travel(NOON, tick=False):
        text = page_text(client_for("leader").get("/grading/"))
    assert "按区分布" in text and "黄浦" in text and "危险化学品" in text and "建材" in text
    assert "/enterprises/?grade=A&amp;district=310101" in text or "/enterprises/?district=310101&amp;grade=A" in text
    assert "较 2026-05 +1" in text  # A: one more than last month
    assert "较 2026-05 -2" in text  # C: two fewer
    assert page_text(client_for("xh_officer").get("/grading/")).count("黄浦") == 0
