"""评议考核 (R2.5.2): item scoring and weights, missing data, 负责人考核生成, scheme versions, the round
through the inbox (reviewers -> leader -> publish), an objection that changes a result with its reason,
the XLSX export, and Chinese messages for bad input."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.appraisal import compute, process, schemes, sources
from app.appraisal.models import AppraisalResult, AppraisalRound
from app.efficiency.models import EffViolation
from app.engine.runtime import SHANGHAI
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.inbox.models import HumanTask, Notification
from app.orgs.models import Organisation
from tests.conftest import page_text, user

PROCESSES = ("appraisal", "appraisal_objection")
TEST_VALUES: dict[str, float] = {}


def _test_source(user_ids, start, end):
    return {user(login).id: v for login, v in TEST_VALUES.items() if user(login).id in user_ids}


sources.register("test_quality", "测试质量分", _test_source, unit="分")


def deploy_appraisal(app) -> None:
    from app.engine import deploy

    folder = Path(app.config["WORKFLOWS_DIR"])
    for pid in PROCESSES:
        deploy.deploy(deploy.sources_from_files(folder / f"{pid}.bpmn"))


def _scheme(items=None):
    s = schemes.create_scheme(
        code="t_month",
        name="测试月度考核",
        period_type="month",
        actor=None,
        items=items
        or [
            ("执法规范", "eff_violations", 50, 0, 5),
            ("工作质量", "test_quality", 30, 100, 0),
            ("评议打分", sources.REVIEWER, 20, 100, 0),
        ],
    )
    schemes.publish(s, actor=None)
    return s


def _violation(login: str, n: int, day: int = 10) -> None:
    u = user(login)
    for i in range(n):
        db.session.add(
            EffViolation(
                rule_code="t",
                category="case",
                ref=f"{login}-{day}-{i}",
                org_id=u.org_id,
                user_id=u.id,
                summary="测试",
                occurred_at=datetime(2026, 10, day, 10, tzinfo=SHANGHAI),
            )
        )
    db.session.flush()


def _round(scheme, reviewers="chief,city_officer"):
    return process.create_round(scheme, "2026-10", actor=user("chief"), reviewers=reviewers)


def _result(r, login) -> AppraisalResult:
    return db.session.scalar(
        select(AppraisalResult).where(AppraisalResult.round_id == r.id, AppraisalResult.user_id == user(login).id)
    )


def test_item_scores_and_weighted_total():
    assert compute.item_score(2, 0, 5) == 60.0  # 2 violations: 0 scores 100, 5 scores 0
    assert compute.item_score(9, 0, 5) == 0.0 and compute.item_score(-1, 0, 5) == 100.0  # clipped
    assert compute.item_score(80, 100, 0) == 80.0
    values = {
        "a": {"score": 60.0, "weight": 50},
        "b": {"score": 80.0, "weight": 30},
        "c": {"score": None, "weight": 20},
    }
    assert compute.weighted(values) == 67.5  # c has no data: 50/30 rescaled to 80
    assert compute.weighted({"a": {"score": None, "weight": 50}}) is None
    assert [compute.grade_of(x) for x in (95, 80, 61, 10, None)] == ["优秀", "合格", "基本合格", "不合格", None]


def test_computation_weights_missing_data_and_leaders(ctx):
    TEST_VALUES.clear()
    TEST_VALUES.update({"hp_officer": 80.0, "hp_street": 40.0})
    s = _scheme()
    _violation("hp_officer", 2)
    _violation("xh_officer", 5)
    _violation("hp_officer", 3, day=20)  # 5 in the month in all

    db.session.flush()
    r = _round(s)
    compute.compute_round(r)
    hp = _result(r, "hp_officer")
    # 5 violations -> 0 points (weight 50), quality 80 (weight 30), reviewer missing (weight 20 dropped)
    assert hp.values[str(s.items[0].id)]["value"] == 5 and hp.values[str(s.items[0].id)]["score"] == 0
    assert hp.total == pytest.approx(round(80 * 30 / 80, 1))
    # no violation counts as 0 (a count), no quality data is missing: only the first item counts
    city = _result(r, "city_officer")
    assert city.values[str(s.items[1].id)]["value"] is None and city.total == 100.0
    xh = _result(r, "xh_officer")
    assert xh.total == 0.0 and xh.grade == "不合格"
    # 负责人考核生成: the district leader from the district's staff (hp_officer, hp_street), weight 0.7
    street = _result(r, "hp_street")
    unit_avg = round((hp.total + street.total) / 2, 1)
    leader = _result(r, "hp_leader")
    assert leader.kind == "leader" and leader.values["unit"]["count"] == 2
    assert leader.values["unit"]["value"] == unit_avg
    own = 100.0  # the leader has no violations and no quality data
    assert leader.total == round(0.7 * unit_avg + 0.3 * own, 1)
    # a leader whose unit has no staff results keeps their own total
    assert _result(r, "xh_leader").total == round(0.7 * xh.total + 0.3 * 100.0, 1)
    # ranks: staff and leaders ranked separately, ties share a place
    staff = [
        x
        for x in db.session.scalars(select(AppraisalResult).where(AppraisalResult.round_id == r.id))
        if x.kind == "staff"
    ]
    assert sorted(x.rank for x in staff if x.total == 100.0) == [1] * sum(1 for x in staff if x.total == 100.0)
    # reviewer scores enter the total once given
    db.session.add(
        process.AppraisalReview(round_id=r.id, user_id=user("hp_officer").id, reviewer_id=user("chief").id, score=90)
    )
    db.session.flush()
    compute.compute_round(r)
    assert _result(r, "hp_officer").total == round((0 * 50 + 80 * 30 + 90 * 20) / 100, 1)


def test_unit_efficiency_source(ctx):
    from app.efficiency.defaults import ensure_defaults
    from app.efficiency.models import EffScore

    model = ensure_defaults()
    hp = user("hp_leader")
    for period, total, adjusted in (("2026-10", 80.0, None), ("2026-11", 70.0, 90.0), ("2026-12", 10.0, None)):
        db.session.add(
            EffScore(
                model_id=model.id,
                period=period,
                org_id=hp.org_id,
                level="district",
                total=total,
                adjusted_total=adjusted,
            )
        )
    db.session.flush()
    start, end = schemes.period_bounds("quarter", "2026-Q4")
    got = sources.get("unit_efficiency").fn([hp.id, user("xh_leader").id], start, end)
    assert got == {hp.id: round((80 + 90 + 10) / 3, 1)}  # adjusted totals count; no result: no data
    start, end = schemes.period_bounds("month", "2026-10")
    assert sources.get("unit_efficiency").fn([hp.id], start, end) == {hp.id: 80.0}


def test_case_review_source_is_optional():
    # app/cases is built separately: without it the registry simply has no case_review source.
    try:
        import app.cases.services  # noqa: F401
    except ImportError:
        assert "case_review" not in sources.all_sources()
    assert {"eff_violations", "overdue_tasks", "training", "clue_returns"} <= set(sources.all_sources())


def test_bad_input_is_refused_in_chinese(ctx):
    s = _scheme()
    with pytest.raises(ValidationFailed, match="考核期间格式不正确"):
        schemes.period_bounds("quarter", "2026-13")
    with pytest.raises(ValidationFailed, match="月份应在 1 到 12 之间"):
        schemes.period_bounds("month", "2026-13")
    assert schemes.period_bounds("quarter", "2026-q4")[0] == datetime(2026, 10, 1, tzinfo=SHANGHAI)
    with pytest.raises(ValidationFailed) as exc:
        process.create_round(s, "2026-10", actor=user("chief"), reviewers="ghost,chief")
    assert "评议人账号不存在或已停用：ghost" in exc.value.message
    with pytest.raises(ValidationFailed, match="请至少指定一名评议人"):
        process.create_round(s, "2026-10", actor=user("chief"), reviewers=" ")
    _round(s)
    with pytest.raises(Conflict, match="已发起考核"):
        _round(s)
    with pytest.raises(ValidationFailed) as exc:
        schemes.create_scheme(code="坏 code", name="", period_type="week", actor=user("chief"))
    assert set(exc.value.errors) == {"code", "name", "period_type"}


def test_scheme_versions_and_editor(app, client_for):
    with app.app_context():
        s = _scheme()
        sid = s.id
        db.session.commit()
    chief = client_for("chief")
    form = {"name": "测试月度考核", "leader_unit_weight": "0.6", "objection_days": "3"}
    bad = {**form, "name_0": "执法规范", "source_0": "eff_violations", "weight_0": "多", "full_0": "0", "zero_0": "0"}
    resp = chief.post(f"/appraisal/schemes/{sid}", data=bad)
    assert resp.status_code == 422
    text = page_text(resp)
    assert "权重应为数字" in text and "满分值与零分值不能相同" in text
    resp = chief.post(
        f"/appraisal/schemes/{sid}",
        data={**form, "name_0": "x", "source_0": "nope", "weight_0": "1", "full_0": "1", "zero_0": "1"},
    )
    assert "请选择数据来源" in page_text(resp) and "满分值与零分值不能相同" in page_text(resp)
    good = {
        **form,
        "name_0": "执法规范",
        "source_0": "eff_violations",
        "weight_0": "60",
        "full_0": "0",
        "zero_0": "4",
        "name_1": "评议",
        "source_1": "reviewer",
        "weight_1": "40",
        "full_1": "100",
        "zero_1": "0",
    }
    resp = chief.post(f"/appraisal/schemes/{sid}", data=good)
    assert resp.status_code == 302
    with app.app_context():
        versions = schemes.schemes()
        assert [(v.version, v.status) for v in versions] == [(1, "published"), (2, "draft")]
        assert [i.weight for i in versions[1].items] == [60, 40] and versions[0].items[0].weight == 50
        draft_id = versions[1].id
    assert chief.post(f"/appraisal/schemes/{draft_id}/publish").status_code == 302
    with app.app_context():
        assert [(v.version, v.status) for v in schemes.schemes()] == [(1, "archived"), (2, "published")]
    # a person without the admin permission cannot edit
    assert client_for("hp_officer").post(f"/appraisal/schemes/{draft_id}", data=good).status_code in (302, 403)
    with app.app_context():
        assert len(schemes.schemes()) == 2


def _open(app, process_id, step):
    with app.app_context():
        return [
            (t.id, t.assignee_id)
            for t in db.session.scalars(
                select(HumanTask).where(
                    HumanTask.status == "open", HumanTask.process_id == process_id, HumanTask.step == step
                )
            )
        ]


def _act(client, task_id, action, **data):
    resp = client.post(f"/inbox/tasks/{task_id}/act", data={"action": action, **data})
    assert resp.status_code == 302, page_text(resp)


def test_round_through_inbox_objection_and_export(app, client_for):
    from app.reports import jobs

    TEST_VALUES.clear()
    TEST_VALUES.update({"hp_officer": 70.0})
    with app.app_context():
        deploy_appraisal(app)
        s = _scheme()
        sid = s.id
        db.session.commit()
    chief = client_for("chief")
    resp = chief.post(
        "/appraisal/rounds", data={"scheme_id": sid, "period": "2026-10", "reviewers": "chief,city_officer"}
    )
    assert resp.status_code == 302
    jobs.wait_for_jobs(60)
    with app.app_context():
        r = db.session.scalar(select(AppraisalRound))
        rid = r.id
        assert r.status == "scoring" and r.instance_id
    tasks = _open(app, "appraisal", "score")
    assert len(tasks) == 2  # every reviewer scores (会签)
    # a reviewer scores through the page; a bad score is refused with a Chinese message
    with app.app_context():
        hp_id = user("hp_officer").id
    resp = chief.post(
        f"/appraisal/rounds/{rid}/score", data={f"score_{hp_id}": "120", "_back": f"/appraisal/rounds/{rid}/score"}
    )
    assert resp.status_code == 303
    assert "评分应在 0 到 100 之间" in page_text(chief.get(f"/appraisal/rounds/{rid}/score"))
    assert chief.post(f"/appraisal/rounds/{rid}/score", data={f"score_{hp_id}": "80"}).status_code == 302
    officer = client_for("city_officer")
    assert officer.post(f"/appraisal/rounds/{rid}/score", data={f"score_{hp_id}": "100"}).status_code == 302
    # someone who is not a reviewer cannot score
    assert (
        client_for("hp_leader").post(f"/appraisal/rounds/{rid}/score", data={f"score_{hp_id}": "1"}).status_code == 403
    )
    with app.app_context():
        ids = {u: user(u).id for u in ("chief", "city_officer")}
    for task_id, assignee in tasks:
        _act(chief if assignee == ids["chief"] else officer, task_id, "approve", score_comment="已评")
    review = _open(app, "appraisal", "review")
    assert review
    leader = client_for("leader")
    assert "参加考核" in page_text(leader.get(f"/inbox/tasks/{review[0][0]}"))
    _act(leader, review[0][0], "reject", comment="请复核黄浦人员评分")
    with app.app_context():
        assert db.session.get(AppraisalRound, rid).status == "scoring"
    again = _open(app, "appraisal", "score")
    assert len(again) == 2
    for task_id, assignee in again:
        _act(chief if assignee == ids["chief"] else officer, task_id, "approve")
    _act(leader, _open(app, "appraisal", "review")[0][0], "approve", comment="同意公布")
    with app.app_context():
        r = db.session.get(AppraisalRound, rid)
        assert r.status == "published" and r.objection_until
        hp = _result(r, "hp_officer")
        # violations 0 -> 100 (50), quality 70 (30), reviewers mean 90 (20)
        assert hp.total == round((100 * 50 + 70 * 30 + 90 * 20) / 100, 1) and hp.status == "published"
        assert db.session.scalar(
            select(Notification).where(Notification.user_id == hp_id, Notification.kind == "appraisal")
        )
        result_id = hp.id
    # the person sees the result and objects; a too-short reason is refused in Chinese
    me = client_for("hp_officer")
    assert "测试月度考核" in page_text(me.get("/appraisal/mine"))
    resp = me.post(f"/appraisal/results/{result_id}/object", data={"reason": "不"})
    assert resp.status_code == 422 and "请填写异议理由（至少 4 个字）" in page_text(resp)
    me.post(f"/appraisal/results/{result_id}/object", data={"reason": "不", "_back": "/appraisal/mine"})
    assert "请填写异议理由（至少 4 个字）" in page_text(me.get("/appraisal/mine"))
    assert (
        me.post(
            f"/appraisal/results/{result_id}/object", data={"reason": "10 月有两次联合检查未计入工作质量"}
        ).status_code
        == 302
    )
    # someone else's result cannot be objected to
    assert (
        client_for("xh_officer")
        .post(f"/appraisal/results/{result_id}/object", data={"reason": "替别人申诉"})
        .status_code
        == 404
    )
    decide = _open(app, "appraisal_objection", "decide")
    assert decide and "联合检查未计入" in page_text(chief.get(f"/inbox/tasks/{decide[0][0]}"))
    # adjust without a reason: refused, nothing changes
    chief.post(
        f"/inbox/tasks/{decide[0][0]}/act", data={"action": "complete", "ruling": "adjust", "adjusted_total": "95"}
    )
    assert _open(app, "appraisal_objection", "decide")
    _act(chief, decide[0][0], "complete", ruling="adjust", adjusted_total="95", decision_reason="核实后补计联合检查")
    with app.app_context():
        hp = db.session.get(AppraisalResult, result_id)
        assert hp.status == "adjusted" and hp.adjusted_total == 95 and hp.total != 95
        assert hp.adjust_reason == "核实后补计联合检查" and hp.grade == "优秀"
        peers = db.session.scalars(
            select(AppraisalResult).where(AppraisalResult.round_id == rid, AppraisalResult.kind == "staff")
        )
        assert hp.rank == 1 + sum(1 for p in peers if (p.final_total or 0) > 95)  # re-ranked with the new total
        with pytest.raises(Conflict):
            process.object_to(hp, actor=user("hp_officer"), reason="再次提出异议")
    assert "核实后补计联合检查" in page_text(me.get("/appraisal/mine"))
    # history per person, for someone with the right and the scope
    assert "95" in page_text(chief.get(f"/appraisal/people/{hp_id}"))
    assert client_for("xh_leader").get(f"/appraisal/people/{hp_id}").status_code == 404  # another district
    # XLSX export through the one helper
    resp = chief.get(f"/appraisal/rounds/{rid}/export?format=xlsx")
    assert resp.status_code == 200 and "spreadsheetml" in resp.headers["Content-Type"]
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert [c.value for c in ws[1]][:3] == ["排名", "姓名", "单位"]
    assert any(row[1] == "黄浦队员" and row[5] == 95 for row in ws.iter_rows(min_row=2, values_only=True))
    # the objection window closes the round when its timer fires
    import time_machine

    from app.engine.cli import run_round

    with app.app_context():
        until = db.session.get(AppraisalRound, rid).objection_until
    with time_machine.travel(until - timedelta(hours=1), tick=False):
        run_round(app)
    with app.app_context():
        assert db.session.get(AppraisalRound, rid).status == "published"
    with time_machine.travel(until + timedelta(minutes=1), tick=False):
        run_round(app)
    with app.app_context():
        assert db.session.get(AppraisalRound, rid).status == "closed"
    assert "已归档" in page_text(chief.get("/appraisal/"))
    with app.app_context():  # after the window no objection is taken
        other = _result(db.session.get(AppraisalRound, rid), "xh_officer")
        with pytest.raises(Conflict, match="异议期已过"):
            process.object_to(other, actor=user("xh_officer"), reason="异议期后提出的异议")


def test_demo_data_in_every_state(ctx):
    from app.demo.appraisal import seed_appraisal_demo
    from app.demo.seed import seed_users
    from app.soe.models import Guidance

    orgs = {o.code: o for o in db.session.scalars(select(Organisation))}
    seed_users(orgs)
    out = seed_appraisal_demo()
    db.session.commit()
    assert out["appraisal_rounds"] == 2 and out["soe_records"] > 50 and out["soe_guidance"] == 5
    rounds = {r.period: r.status for r in db.session.scalars(select(AppraisalRound))}
    assert sorted(rounds.values()) == ["published", "scoring"]
    statuses = {r.status for r in db.session.scalars(select(AppraisalResult))}
    assert {"adjusted", "objected", "published", "computed"} <= statuses
    assert {s.status for s in schemes.schemes()} == {"published", "draft"}
    today = datetime.now(SHANGHAI).date()
    gs = list(db.session.scalars(select(Guidance)))
    assert {g.status for g in gs} == {"open", "answered", "returned", "closed"} and any(g.overdue(today) for g in gs)
    assert seed_appraisal_demo() == {"soe_records": 0, "soe_guidance": 0, "appraisal_rounds": 0}  # idempotent


def test_results_are_scoped_for_readers(app, client_for):
    with app.app_context():
        s = _scheme()
        r = _round(s)
        compute.compute_round(r)
        rid = r.id
        db.session.commit()
    hp = page_text(client_for("hp_leader").get(f"/appraisal/rounds/{rid}"))
    assert "黄浦队员" in hp and "徐汇队员" not in hp  # a district sees its own people only
    city = page_text(client_for("leader").get(f"/appraisal/rounds/{rid}"))
    assert "黄浦队员" in city and "徐汇队员" in city
    scoring = page_text(client_for("hp_leader").get(f"/appraisal/rounds/{rid}/score"))
    assert "徐汇队员" not in scoring and "不是本轮评议人" in scoring
    assert client_for("hp_officer").get(f"/appraisal/rounds/{rid}").status_code == 403  # no read right
    assert client_for("hp_officer").get("/appraisal/").status_code == 302  # to their own results


def test_history_trend_over_periods(app, client_for):
    with app.app_context():
        s = _scheme()
        for period in ("2026-09", "2026-10"):
            r = process.create_round(s, period, actor=user("chief"), reviewers="chief")
            compute.compute_round(r)
            r.status = "closed"
        db.session.commit()
    text = page_text(client_for("hp_officer").get("/appraisal/mine"))
    assert "历次考核得分" in text and "data-appraisal-trend" in text and "2026-09" in text
