"""效能核验 and 辅助提升 through BPMN in the inbox: a district confirms or disputes with evidence, the city
decides; units below the threshold get an improvement task tracked to closure; a record's dispute."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.efficiency import scoring
from app.efficiency.defaults import ensure_defaults
from app.efficiency.models import EffImprovement, EffScore, EffViolation
from app.extensions import db
from app.inbox.models import HumanTask
from tests.conftest import page_text, user
from tests.efficiency_fixtures import at, inspection, org
from tests.enterprise_fixtures import make_enterprise

PROCESSES = ("efficiency_verification", "efficiency_improvement", "efficiency_dispute")


def deploy_efficiency(app) -> None:
    from app.engine import deploy

    folder = Path(app.config["WORKFLOWS_DIR"])
    for pid in PROCESSES:
        deploy.deploy(deploy.sources_from_files(folder / f"{pid}.bpmn"))


@pytest.fixture
def computed(app):
    from datetime import date

    with app.app_context():
        deploy_efficiency(app)
        ents = [make_enterprise("310101", i, f"黄浦企业{i}") for i in range(1, 3)]
        for i in range(3):
            inspection(ents[0], org("310101"), date(2026, 3, 2 + i))
        model = ensure_defaults()
        scoring.compute_month(model, 2026, 3)
        db.session.commit()
        return model.id


def _open(app, process_id, step, org_code=None):
    with app.app_context():
        stmt = select(HumanTask).where(
            HumanTask.status == "open", HumanTask.process_id == process_id, HumanTask.step == step
        )
        rows = db.session.scalars(stmt).all()
        if org_code:
            rows = [t for t in rows if t.instance.org_id == org(org_code).id]
        return rows[0].id if rows else None


def _act(client, task_id, action, **data):
    resp = client.post(f"/inbox/tasks/{task_id}/act", data={"action": action, **data})
    assert resp.status_code == 302, page_text(resp)


def _score(app, code):
    with app.app_context():
        s = db.session.scalar(select(EffScore).where(EffScore.org_id == org(code).id))
        db.session.expunge(s)
        return s


def test_verify_dispute_decide_and_improve_to_closure(app, computed, client_for):
    chief = client_for("chief")
    assert chief.post("/efficiency/verify", data={"period": "2026-03"}).status_code == 302
    hp_task, xh_task = (
        _open(app, "efficiency_verification", "verify", "310101"),
        _open(app, "efficiency_verification", "verify", "310104"),
    )
    assert hp_task and xh_task and _score(app, "310101").status == "verifying"
    # each district sees its own result to verify, not the other's
    inbox = page_text(client_for("hp_leader").get("/inbox/"))
    assert "效能核验：黄浦" in inbox and "效能核验：徐汇" not in inbox
    # a dispute without a reason is refused with a message and nothing moves
    resp = client_for("hp_leader").post(
        f"/inbox/tasks/{hp_task}/act", data={"action": "complete", "decision": "dispute"}
    )
    assert resp.status_code in (409, 422, 500) or "请填写异议理由" in page_text(resp)
    assert _open(app, "efficiency_verification", "verify", "310101") == hp_task
    _act(
        client_for("hp_leader"),
        hp_task,
        "complete",
        decision="dispute",
        reason="3 月有 12 次联合检查未计入",
        evidence="联合检查记录表已上传",
    )
    assert _score(app, "310101").status == "disputed"
    decide = _open(app, "efficiency_verification", "decide")
    assert decide and "3 月有 12 次联合检查未计入" in page_text(chief.get(f"/inbox/tasks/{decide}"))
    _act(chief, decide, "complete", ruling="accept", adjusted_total="86", decision_note="核实后补计联合检查")
    hp = _score(app, "310101")
    assert hp.status == "decided" and hp.adjusted_total == 86 and hp.passed and hp.rank == 1
    # 徐汇 confirms its (failing) result
    _act(client_for("xh_leader"), xh_task, "complete", decision="confirm")
    assert _score(app, "310104").status == "confirmed"
    # improvement tasks: only units below the line whose result is final (徐汇; streets are final as computed)
    assert chief.post("/efficiency/improve", data={"period": "2026-03"}).status_code == 302
    with app.app_context():
        imps = {i.org.code: i.id for i in db.session.scalars(select(EffImprovement))}
    assert "310104" in imps and "310101" not in imps
    improve = _open(app, "efficiency_improvement", "improve", "310104")
    assert "办结线索数：0件（达标值 ≥5件，未达标）" in page_text(client_for("xh_leader").get(f"/inbox/tasks/{improve}"))
    _act(client_for("xh_leader"), improve, "complete", measures="每周开展两次专项检查")
    accept = _open(app, "efficiency_improvement", "accept")
    _act(chief, accept, "reject", comment="请补充检查台账")
    again = _open(app, "efficiency_improvement", "improve", "310104")
    assert again and "请补充检查台账" in page_text(client_for("xh_leader").get(f"/inbox/tasks/{again}"))
    _act(client_for("xh_leader"), again, "complete", measures="每周两次专项检查，台账已上传")
    _act(chief, _open(app, "efficiency_improvement", "accept"), "approve", comment="验收通过")
    with app.app_context():
        imp = db.session.get(EffImprovement, imps["310104"])
        assert imp.status == "closed" and imp.closed_at and "台账已上传" in imp.measures
    # a second round issues nothing new
    assert chief.post("/efficiency/improve", data={"period": "2026-03"}).status_code == 302
    with app.app_context():
        assert len(db.session.scalars(select(EffImprovement)).all()) == len(imps)


def test_a_record_disputed_and_revoked_by_the_city(app, computed, client_for):
    with app.app_context():
        v = EffViolation(
            rule_code="deadline_overrun",
            category="case",
            ref="task:1",
            org_id=org("310101").id,
            user_id=user("hp_officer").id,
            summary="“核查处理”超期 5 小时办结",
            occurred_at=at(3, 2),
        )
        db.session.add(v)
        db.session.commit()
        vid = v.id
    officer = client_for("hp_officer")
    # 徐汇 cannot see (or dispute) 黄浦's record
    assert client_for("xh_leader").get(f"/efficiency/violations/{vid}").status_code in (403, 404)
    resp = client_for("hp_leader").post(f"/efficiency/violations/{vid}/dispute", data={"reason": "无"})
    assert resp.status_code == 422 and "请填写申诉理由" in page_text(resp)
    with app.app_context():
        assert db.session.get(EffViolation, vid).status == "open"
    resp = client_for("hp_leader").post(f"/efficiency/violations/{vid}/dispute", data={"reason": "期限已经批准延长"})
    assert resp.status_code == 302
    assert "申诉中" in page_text(client_for("hp_leader").get(f"/efficiency/violations/{vid}"))
    decide = _open(app, "efficiency_dispute", "decide")
    _act(client_for("chief"), decide, "complete", ruling="revoke", decision_note="延期审批已核实")
    with app.app_context():
        v = db.session.get(EffViolation, vid)
        assert v.status == "revoked" and v.decision == "延期审批已核实"
    assert officer.get("/efficiency/violations?status=revoked").status_code == 403  # officers lack stats.read
