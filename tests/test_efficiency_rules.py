"""效能识别 (R2.4.2): each rule on hand-made process data, once where it must find something and once
where it must not; records per person and department with the evidence; re-runs add nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.efficiency.models import EffRule, EffViolation
from app.efficiency.rules import run_rules
from app.extensions import db
from app.reports.models import Document
from tests.conftest import page_text, user
from tests.efficiency_fixtures import at, inspection, instance, org, task
from tests.enterprise_fixtures import make_enterprise

SINCE, UNTIL = at(3, 1, 0), at(4, 1, 0)


def _rule(detector: str, **params) -> EffRule:
    rule = EffRule(code=detector, name=detector, detector=detector, category="case", params=params)
    db.session.add(rule)
    db.session.flush()
    return rule


def _found(rule: EffRule) -> dict[str, EffViolation]:
    run_rules(SINCE, UNTIL, [rule])
    return {v.ref: v for v in db.session.scalars(select(EffViolation).where(EffViolation.rule_code == rule.code))}


def test_deadline_overrun(ctx):
    officer, hp = user("hp_officer"), org("310101")
    inst = instance("clue_verification", hp)
    late = task(inst, "handle", created=at(3, 2), due=at(3, 5, 18), done=at(3, 6, 10), by=officer)
    in_time = task(inst, "review", created=at(3, 2), due=at(3, 5, 18), done=at(3, 5, 17), by=officer)
    still_open = task(inst, "judge", created=at(3, 2), due=at(3, 20), by=officer)
    found = _found(_rule("deadline_overrun"))
    assert set(found) == {f"task:{late.id}", f"task:{still_open.id}"} and f"task:{in_time.id}" not in found
    v = found[f"task:{late.id}"]
    assert v.user_id == officer.id and v.org_id == hp.id and v.instance_id == inst.id and v.step == "handle"
    assert v.evidence["late_hours"] == 16.0 and v.evidence["instance_number"] == inst.number
    assert run_rules(SINCE, UNTIL, [db.session.scalar(select(EffRule))]) == 0  # nothing twice


def test_steps_skipped_or_reordered(ctx):
    officer, hp = user("hp_officer"), org("310101")
    rule = _rule("step_order", process_id="clue_verification", sequence=["judge", "handle", "close"])
    ok = instance("clue_verification", hp, ended=at(3, 10))
    for i, step in enumerate(("judge", "handle", "close")):
        task(ok, step, created=at(3, 2 + i), done=at(3, 3 + i), by=officer)
    skipped = instance("clue_verification", hp, ended=at(3, 10))
    task(skipped, "judge", created=at(3, 2), done=at(3, 3), by=officer)
    task(skipped, "close", created=at(3, 3), done=at(3, 4), by=officer)
    reordered = instance("clue_verification", hp, ended=at(3, 12))
    for i, step in enumerate(("handle", "judge", "close")):
        task(reordered, step, created=at(3, 2 + i), done=at(3, 3 + i), by=officer)
    found = _found(rule)
    assert set(found) == {f"inst:{skipped.id}", f"inst:{reordered.id}"}
    assert (
        found[f"inst:{skipped.id}"].summary == "缺少必经环节：handle" and found[f"inst:{skipped.id}"].step == "handle"
    )
    assert "颠倒" in found[f"inst:{reordered.id}"].summary
    assert found[f"inst:{reordered.id}"].evidence["steps"] == ["handle", "judge", "close"]


def test_missing_documents(ctx):
    officer, hp = user("hp_officer"), org("310101")
    rule = _rule("missing_documents", process_id="clue_verification", kind="investigation_report")
    with_report = instance("clue_verification", hp, ended=at(3, 10))
    task(with_report, "close", created=at(3, 8), done=at(3, 9), by=officer)
    db.session.add(
        Document(
            org_id=hp.id,
            kind="investigation_report",
            title="调查报告",
            template="x",
            path="",
            sm3="0",
            instance_id=with_report.id,
        )
    )
    without = instance("clue_verification", hp, ended=at(3, 11))
    task(without, "close", created=at(3, 8), done=at(3, 9), by=officer)
    running = instance("clue_verification", hp)  # not finished: not judged yet
    found = _found(rule)
    assert set(found) == {f"inst:{without.id}"} and f"inst:{running.id}" not in found
    assert found[f"inst:{without.id}"].user_id == officer.id and found[f"inst:{without.id}"].step == "close"


def test_one_officer_approving_their_own_work(ctx):
    officer, leader, hp = user("hp_officer"), user("hp_leader"), org("310101")
    rule = _rule("self_approval")
    own = instance("trigger_dispatch", hp)
    task(own, "handle", created=at(3, 2), done=at(3, 3), by=officer)
    selfish = task(own, "review", created=at(3, 3), done=at(3, 4), by=officer, kind="approval", outcome="approve")
    fair = instance("trigger_dispatch", hp)
    task(fair, "handle", created=at(3, 2), done=at(3, 3), by=officer)
    proper = task(fair, "review", created=at(3, 3), done=at(3, 4), by=leader, kind="approval", outcome="approve")
    started = instance("trigger_dispatch", hp, initiator=leader)
    by_starter = task(started, "review", created=at(3, 3), done=at(3, 4), by=leader, kind="approval", outcome="approve")
    found = _found(rule)
    assert set(found) == {f"task:{selfish.id}", f"task:{by_starter.id}"} and f"task:{proper.id}" not in found
    assert found[f"task:{selfish.id}"].evidence["own_step"] == "handle"
    assert found[f"task:{selfish.id}"].user_id == officer.id


def test_inspection_outside_plan(ctx):
    officer, hp = user("hp_officer"), org("310101")
    ent = make_enterprise("310101", 1, "黄浦企业")
    rule = _rule("inspection_outside_plan")
    outside = inspection(ent, hp, date(2026, 3, 3), kind="plan", by=officer)
    other = inspection(ent, hp, date(2026, 3, 4), kind="clue", by=officer)  # a clue inspection needs no plan
    found = _found(rule)
    assert set(found) == {f"insp:{outside.id}"} and f"insp:{other.id}" not in found
    assert found[f"insp:{outside.id}"].user_id == officer.id and found[f"insp:{outside.id}"].org_id == hp.id


def test_dispatch_not_answered_in_time(ctx):
    officer, hp = user("hp_officer"), org("310101")
    rule = _rule("dispatch_unanswered", hours=24)
    inst = instance("trigger_dispatch", hp)
    slow = task(inst, "handle", created=at(3, 2, 9), claimed=at(3, 3, 15), done=at(3, 4), by=officer)
    quick = task(inst, "handle", created=at(3, 5, 9), claimed=at(3, 5, 11), done=at(3, 8), by=officer)
    ignored = task(inst, "handle", created=at(3, 10, 9))
    not_dispatch = task(inst, "review", created=at(3, 10, 9))
    found = _found(rule)
    assert set(found) == {f"task:{slow.id}", f"task:{ignored.id}"}
    assert f"task:{quick.id}" not in found and f"task:{not_dispatch.id}" not in found
    assert found[f"task:{slow.id}"].occurred_at == at(3, 3, 9)


def test_query_pages_per_person_and_department(app, client_for):
    with app.app_context():
        for code, ref in (("310101", "a"), ("310104", "b")):
            db.session.add(
                EffViolation(
                    rule_code="self_approval",
                    category="enforcement",
                    ref=ref,
                    org_id=org(code).id,
                    user_id=user("hp_officer" if code == "310101" else "xh_officer").id,
                    summary=f"{code} 自办自批",
                    occurred_at=at(3, 2),
                )
            )
        db.session.commit()
        hp_officer = user("hp_officer").id
    city = page_text(client_for("leader").get("/efficiency/violations?category=enforcement"))
    assert "310101 自办自批" in city and "310104 自办自批" in city
    one = page_text(client_for("leader").get(f"/efficiency/violations?user={hp_officer}"))
    assert "310101 自办自批" in one and "310104 自办自批" not in one
    district = page_text(client_for("hp_leader").get("/efficiency/violations"))
    assert "310101 自办自批" in district and "310104 自办自批" not in district
    assert "没有符合条件的记录" in page_text(client_for("leader").get("/efficiency/violations?category=dispatch"))
