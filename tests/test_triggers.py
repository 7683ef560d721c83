"""Triggered supervision: rules and scenarios, a hit dispatched through BPMN to the district's inbox, reminders
and escalation by a controllable clock, closure feeding the score, merging, rule versions and the test bench."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.engine.runtime import SHANGHAI
from app.extensions import db
from app.grading.models import EnterpriseScore
from app.inbox.models import HumanTask, Notification
from app.triggers import services
from app.triggers.models import TriggerHit, TriggerRule, TriggerScenario
from tests.conftest import page_text, user
from tests.enterprise_fixtures import add_record, deploy_area_processes, make_enterprise

MON = datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI)  # a Monday


def _rule(code, kind, condition, name):
    rule = TriggerRule(code=code, version=1, name=name, record_kind=kind, condition=condition, status="published")
    db.session.add(rule)
    return rule


@pytest.fixture
def setup(app):
    with time_machine.travel(MON, tick=False), app.app_context():
        deploy_area_processes(app)
        hp = make_enterprise("310101", 1, "上海申江化工贸易有限公司", grade="C")
        xh = make_enterprise("310104", 2, "上海徐汇冷链物流有限公司", grade="C")
        _rule("complaint_any", "complaint", "True", "收到投诉举报")
        _rule("accident_hurt", "accident", "deaths >= 1 or injuries >= 3", "发生伤亡事故")
        db.session.add(
            TriggerScenario(
                code="repeat_complaints",
                name="30 天内重复投诉",
                rule_codes=["complaint_any"],
                mode="any",
                min_count=2,
                window_days=30,
                merge_days=30,
                deadline_days=5,
                remind_days=3,
            )
        )
        db.session.add(
            TriggerScenario(
                code="complaint_and_accident",
                name="投诉叠加伤亡事故",
                rule_codes=["complaint_any", "accident_hurt"],
                mode="all",
                min_count=2,
                window_days=60,
                merge_days=30,
                deadline_days=3,
                remind_days=1,
            )
        )
        db.session.commit()
        return {"hp": hp.id, "xh": xh.id}


def _records(app, ent_id, *specs):
    with time_machine.travel(MON, tick=False), app.app_context():
        from app.enterprises.models import Enterprise

        ent = db.session.get(Enterprise, ent_id)
        for kind, days, title, value in specs:
            add_record(ent, kind, MON.date() - timedelta(days=days), title, value, source="12345 市民热线")
        result = services.evaluate_new(MON)
        db.session.commit()
        return result


def _act(client, task_id, action, **data):
    resp = client.post(f"/inbox/tasks/{task_id}/act", data={"action": action, **data})
    assert resp.status_code == 302, page_text(resp)


def _open(app, step):
    with app.app_context():
        return db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open", HumanTask.step == step))


def test_hit_to_closed_dispatch_feeds_the_score(app, setup, client_for):
    assert _records(app, setup["hp"], ("complaint", 3, "反映夜间违规装卸", {}))["hits"] == 0  # one is not enough
    assert _records(app, setup["hp"], ("complaint", 1, "再次反映违规装卸", {}))["hits"] == 1
    with app.app_context():
        hit = db.session.scalar(select(TriggerHit))
        assert hit.status == "handling" and hit.org.code == "310101" and hit.instance_id
        # 5 working days; Friday 19 June 2026 is the Dragon Boat Festival (端午节)
        assert hit.deadline.isoformat() == "2026-06-23" and len(hit.record_ids) == 2
    # The district's officers see it in their inbox; another district's do not.
    assert "上海申江化工贸易有限公司" in page_text(client_for("hp_officer").get("/inbox/"))
    assert "上海申江化工贸易有限公司" not in page_text(client_for("xh_officer").get("/inbox/"))
    _act(
        client_for("hp_officer"),
        _open(app, "handle"),
        "complete",
        handle_result="problem",
        findings="现场发现装卸区未设警戒",
        measures="责令停止作业并整改",
    )
    _act(client_for("hp_leader"), _open(app, "review"), "approve", comment="同意办结")
    with app.app_context():
        hit = db.session.scalar(select(TriggerHit))
        assert hit.status == "closed" and hit.outcome == "problem" and "装卸区" in hit.outcome_note
        score = db.session.get(EnterpriseScore, setup["hp"])
        assert "disp_problem" in {e["code"] for e in score.entries}
        hit_id = hit.id  # on PostgreSQL a read-only context ends with COMMIT (app/dbpool.py), expiring `hit`
    text = page_text(client_for("hp_officer").get(f"/triggers/hits/{hit_id}"))
    assert "已办结" in text and "发现问题并已处理" in text and "再次反映违规装卸" in text


def test_same_enterprise_and_scenario_within_the_window_merge(app, setup):
    _records(app, setup["hp"], ("complaint", 2, "投诉一", {}), ("complaint", 1, "投诉二", {}))
    _records(app, setup["hp"], ("complaint", 0, "投诉三", {}))
    with app.app_context():
        hits = db.session.scalars(select(TriggerHit)).all()
        assert len(hits) == 1 and hits[0].hit_count == 2 and len(hits[0].record_ids) == 3
        assert db.session.scalar(select(func.count(HumanTask.id)).where(HumanTask.status == "open")) == 1
    # After the merge window a new hit (and a new dispatch) opens.
    later = MON + timedelta(days=31)
    with time_machine.travel(later, tick=False), app.app_context():
        from app.enterprises.models import Enterprise

        ent = db.session.get(Enterprise, setup["hp"])
        add_record(ent, "complaint", later.date(), "投诉四", {})
        add_record(ent, "complaint", later.date(), "投诉五", {})
        services.evaluate_new(later)
        db.session.commit()
        assert db.session.scalar(select(func.count(TriggerHit.id))) == 2


def test_combined_scenario_needs_every_rule(app, setup):
    _records(app, setup["xh"], ("complaint", 5, "投诉冷库氨味", {}), ("accident", 2, "轻微事故", {"injuries": 1}))
    with app.app_context():
        assert db.session.scalar(select(func.count(TriggerHit.id))) == 0
    _records(app, setup["xh"], ("accident", 1, "氨泄漏 3 人受伤", {"injuries": 3, "deaths": 0}))
    with app.app_context():
        hit = db.session.scalar(select(TriggerHit))
        assert hit.scenario.code == "complaint_and_accident" and hit.org.code == "310104"
        assert hit.rule_codes == ["accident_hurt", "complaint_any"]


def test_reminder_then_escalation_by_the_clock(app, setup, client_for):
    from app.engine.cli import run_round

    _records(app, setup["hp"], ("complaint", 2, "投诉一", {}), ("complaint", 1, "投诉二", {}))
    # 3 working days later (Thursday): the reminder; nothing escalated yet.
    with time_machine.travel(datetime(2026, 6, 18, 10, 30, tzinfo=SHANGHAI), tick=False):
        run_round(app)
    with app.app_context():
        hit = db.session.scalar(select(TriggerHit))
        assert hit.reminded_at is not None and hit.escalated_at is None
        titles = db.session.scalars(select(Notification.title).where(Notification.user_id == user("hp_officer").id))
        assert any(t.startswith("触发式监管临期") for t in titles)
    # The deadline (Tuesday 23rd, after the holiday) passes: the brigade and city leaders are told.
    with time_machine.travel(datetime(2026, 6, 23, 10, 30, tzinfo=SHANGHAI), tick=False):
        run_round(app)
    with app.app_context():
        hit = db.session.scalar(select(TriggerHit))
        assert hit.escalated_at is not None and hit.status == "handling"
        for login in ("hp_leader", "leader"):
            titles = db.session.scalars(select(Notification.title).where(Notification.user_id == user(login).id))
            assert any("超期未处置" in t for t in titles), login
        assert db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open", HumanTask.step == "handle"))
    assert "已超期升级" in page_text(client_for("hp_leader").get("/triggers/?status=overdue"))


def test_rule_versions_validation_and_test_bench(app, setup, client_for):
    _records(
        app,
        setup["hp"],
        ("accident", 20, "1 人死亡事故", {"deaths": 1, "injuries": 0}),
        ("accident", 200, "2 人受伤", {"deaths": 0, "injuries": 2}),
    )
    c = client_for("procadmin")
    bad = c.post(
        "/triggers/rules",
        data={"code": "accident_hurt", "name": "伤亡", "record_kind": "accident", "condition": "import os"},
    )
    assert bad.status_code == 422 and "触发规则有误" in page_text(bad)
    resp = c.post(
        "/triggers/rules",
        data={
            "code": "accident_hurt",
            "name": "伤亡事故（含轻伤）",
            "record_kind": "accident",
            "condition": "deaths >= 1 or injuries >= 1",
        },
    )
    assert resp.status_code == 302
    rule_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    with time_machine.travel(MON, tick=False):
        three = page_text(c.get(f"/triggers/rules/{rule_id}?months=3"))
        twelve = page_text(c.get(f"/triggers/rules/{rule_id}?months=12"))
    assert "共 1 条生产安全事故数据，将命中 1 条" in three
    assert "共 2 条生产安全事故数据，将命中 2 条，涉及 1 家企业" in twelve
    with app.app_context():
        assert db.session.get(TriggerRule, rule_id).version == 2  # nothing was written by the test bench
        assert db.session.scalar(select(func.count(TriggerHit.id))) == 0
    assert c.post(f"/triggers/rules/{rule_id}/publish").status_code == 302
    with app.app_context():
        rows = {
            r.version: r.status
            for r in db.session.scalars(select(TriggerRule).where(TriggerRule.code == "accident_hurt"))
        }
        assert rows == {1: "retired", 2: "published"}


def test_hits_are_scoped(app, setup, client_for):
    _records(app, setup["hp"], ("complaint", 2, "投诉一", {}), ("complaint", 1, "投诉二", {}))
    with app.app_context():
        hit_id = db.session.scalar(select(TriggerHit.id))
    assert "上海申江化工贸易有限公司" in page_text(client_for("leader").get("/triggers/"))
    assert "上海申江化工贸易有限公司" in page_text(client_for("hp_street").get("/triggers/"))
    assert "上海申江化工贸易有限公司" not in page_text(client_for("xh_officer").get("/triggers/"))
    assert client_for("xh_officer").get(f"/triggers/hits/{hit_id}").status_code == 404
    assert client_for("soe").get(f"/triggers/hits/{hit_id}").status_code == 404


def test_dispatch_task_is_due_at_the_hit_deadline(app, setup):
    """The district's 区级核查处置 task carries the scenario's deadline in working days (dueWorkingDays)."""
    _records(app, setup["hp"], ("complaint", 2, "投诉一", {}), ("complaint", 1, "投诉二", {}))
    with app.app_context():
        hit = db.session.scalar(select(TriggerHit))
        task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == hit.instance_id))
        assert task.step == "handle" and task.due_at is not None
        # 5 working days from Monday 15 June, over the Dragon Boat Festival: Tuesday 23 June
        assert task.due_at.astimezone(SHANGHAI).date() == hit.deadline == datetime(2026, 6, 23).date()


def test_a_round_batches_its_hits_and_starts_dispatches_after(app, setup, monkeypatch):
    """Records of one round for the same enterprise and scenario merge in memory into one hit; the dispatch
    processes start after the evaluation loop, one per new hit (never per record)."""
    from app.triggers import process

    started, evaluated = [], []
    real_start, real_evaluate = process.start_for, services.evaluate_record

    def spy_start(hit):
        started.append((hit.enterprise_id, hit.hit_count, len(hit.record_ids), len(evaluated)))
        return real_start(hit)

    def spy_evaluate(rec, **kw):
        evaluated.append(rec.id)
        return real_evaluate(rec, **kw)

    monkeypatch.setattr(process, "start_for", spy_start)
    monkeypatch.setattr(services, "evaluate_record", spy_evaluate)
    result = _records(
        app,
        setup["hp"],
        ("complaint", 4, "投诉一", {}),
        ("complaint", 3, "投诉二", {}),
        ("complaint", 2, "投诉三", {}),
        ("complaint", 1, "投诉四", {}),
    )
    # One start, after all four records of the round were evaluated, for one hit holding the four records.
    assert started == [(setup["hp"], 1, 4, 4)]
    assert result == {"evaluated": 4, "hits": 4, "started": 1}
    evaluated.clear()
    result = _records(app, setup["hp"], ("complaint", 0, "投诉五", {}))
    assert result["started"] == 0 and len(started) == 1  # merged into the open hit, no new dispatch
    with app.app_context():
        hit = db.session.scalar(select(TriggerHit))
        assert hit.hit_count == 2 and len(hit.record_ids) == 5
        assert db.session.scalar(select(func.count(HumanTask.id)).where(HumanTask.status == "open")) == 1
