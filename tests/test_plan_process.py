"""Monthly plans through HTTP: assisted generation (an enterprise over its annual limit is excluded and
needs an explanation to be added), the reproducible 双随机 draw, district and city review with
send-backs, publicity by a working-day timer, publication, execution warnings."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from app.alerts.models import Alert
from app.audit.models import AuditEntry
from app.engine.runtime import SHANGHAI
from app.enterprises.credit_code import check_char
from app.enterprises.models import Enterprise
from app.extensions import db
from app.inbox.models import HumanTask
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.plans.models import Inspection, MonthlyPlan
from tests.conftest import page_text

YEAR = utcnow().astimezone(SHANGHAI).year
MONTH = 12  # the plan month: December of this year, so this year's inspections count against the limits


@pytest.fixture
def plan_setup(app):
    """Huangpu enterprises: due by grade, one over its annual limit, one inspected recently."""
    from app.engine import deploy

    with app.app_context():
        deploy.deploy(deploy.sources_from_files(Path(app.config["WORKFLOWS_DIR"]) / "monthly_plan.bpmn"))
        street = db.session.scalar(
            select(Organisation).where(Organisation.district_code == "310101", Organisation.kind == "street").limit(1)
        )
        names = {}
        for seq, (grade, name, inspected) in enumerate(
            [
                ("A", "上海申江化工贸易有限公司", [date(YEAR, 8, 1)]),
                ("B", "上海浦江钢铁有限公司", [date(YEAR, 6, 1)]),
                ("C", "上海恒泰建材有限公司", []),
                ("C", "上海隆盛冷链食品有限公司", [date(YEAR, 3, 1), date(YEAR, 5, 1)]),  # at the C limit (2)
                ("D", "上海嘉信仓储物流有限公司", []),
                ("B", "上海金源机械制造有限公司", [date(YEAR, 11, 25)]),  # inspected recently: not due
                ("C", "上海东海纺织有限公司", [date(YEAR - 1, 1, 10)]),
                ("D", "上海新华实业有限公司", [date(YEAR - 1, 2, 10)]),
            ],
            start=1,
        ):
            body = f"91310101MA{seq:07d}"
            ent = Enterprise(
                credit_code=body + check_char(body),
                name=name,
                org_id=street.id,
                district_code="310101",
                grade=grade,
                address=f"上海市黄浦区中山南路 {seq} 号",
            )
            db.session.add(ent)
            db.session.flush()
            names[name] = ent.credit_code
            for day in inspected:
                db.session.add(Inspection(enterprise_id=ent.id, org_id=street.parent_id, inspected_on=day))
        db.session.commit()
        return names


def generate(client, **extra):
    data = {"year": YEAR, "month": MONTH, "max_items": 4, "publicity_days": 3, **extra}
    resp = client.post("/plans/generate", data=data)
    assert resp.status_code == 302, page_text(resp)
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def plan_of(app, plan_id: int) -> dict:
    with app.app_context():
        p = db.session.get(MonthlyPlan, plan_id)
        return {
            "status": p.status,
            "items": [(i.enterprise.name, i.source, i.over_limit) for i in p.items],
            "excluded": [e["name"] for e in p.excluded],
            "seed": p.draw_seed,
            "pool": list(p.draw_pool),
            "result": list(p.draw_result),
            "instance": p.instance_id,
            "until": p.publicity_until,
        }


def open_row(app, step: str) -> int:
    with app.app_context():
        [row] = db.session.scalars(select(HumanTask).where(HumanTask.status == "open", HumanTask.step == step)).all()
        return row.id


def decide(client, step_task: int, action: str, comment: str = ""):
    resp = client.post(f"/inbox/tasks/{step_task}/act", data={"action": action, "comment": comment})
    assert resp.status_code == 302, page_text(resp)


def test_generation_excludes_over_limit_and_draw_is_reproducible(app, plan_setup, client_for):
    from app.plans import services

    officer = client_for("hp_officer")
    plan_id = generate(officer)
    p = plan_of(app, plan_id)
    names = [n for n, _, _ in p["items"]]
    # Due: A (120 days > 60), B (>= 90), C and D never inspected, older ones; by grade first, at most 4.
    assert names == ["上海申江化工贸易有限公司", "上海浦江钢铁有限公司", "上海恒泰建材有限公司", "上海东海纺织有限公司"]
    assert p["excluded"] == ["上海隆盛冷链食品有限公司"]  # due, but at its annual limit
    page = page_text(officer.get(f"/plans/{plan_id}"))
    assert "因达到年度检查上限排除" in page and "本年已检查 2 次 / 上限 2 次" in page
    # The draw: a recorded seed over a recorded pool; running it again gives the same enterprises.
    resp = officer.post(f"/plans/{plan_id}/draw", data={"count": 2, "seed": "20261201"})
    assert resp.status_code == 302
    p = plan_of(app, plan_id)
    assert p["seed"] == 20261201 and len(p["result"]) == 2
    with app.app_context():
        assert len(p["pool"]) == 3  # D (never), D (last year), B recently inspected: not over their limits
        over_limit_id = db.session.scalar(select(Enterprise.id).where(Enterprise.name == "上海隆盛冷链食品有限公司"))
        assert over_limit_id not in p["pool"]
        plan = db.session.get(MonthlyPlan, plan_id)
        assert services.verify_draw(plan)
        assert services._sample(20261201, p["pool"], 2) == p["result"]
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "plan.draw"))
        assert entry.detail["seed"] == 20261201 and entry.detail["picked"] == p["result"]
    assert "按种子重新抽取结果一致" in page_text(officer.get(f"/plans/{plan_id}"))
    # Adding the over-limit enterprise needs an explanation; with one it is added and flagged.
    credit = plan_setup["上海隆盛冷链食品有限公司"]
    refused = officer.post(f"/plans/{plan_id}/items", data={"enterprise": credit})
    assert refused.status_code == 422 and "达到年度上限 2 次" in page_text(refused)
    ok = officer.post(f"/plans/{plan_id}/items", data={"enterprise": credit, "note": "群众举报线索需复查"})
    assert ok.status_code == 302
    assert ("上海隆盛冷链食品有限公司", "manual", True) in plan_of(app, plan_id)["items"]
    assert "超限检查：群众举报线索需复查" in page_text(officer.get(f"/plans/{plan_id}"))
    # Another district's officer cannot see or edit it; the same month cannot be generated twice.
    assert client_for("xh_officer").get(f"/plans/{plan_id}").status_code == 404
    assert officer.post("/plans/generate", data={"year": YEAR, "month": MONTH}).status_code == 409


def test_review_send_backs_publicity_timer_and_publication(app, plan_setup, client_for):
    from app.engine.cli import run_round

    officer, district, city = client_for("hp_officer"), client_for("hp_leader"), client_for("leader")
    plan_id = generate(officer)
    assert officer.post(f"/plans/{plan_id}/submit").status_code == 302
    assert plan_of(app, plan_id)["status"] == "reviewing"
    # Locked while under review.
    assert officer.post(f"/plans/{plan_id}/draw", data={"count": 1}).status_code == 409
    # The district leader sends it back with a reason: the drafter gets a 修改计划 task.
    decide(district, open_row(app, "review_district"), "reject", "请补充 D 级企业")
    assert plan_of(app, plan_id)["status"] == "returned"
    revise = open_row(app, "revise")
    assert "请补充 D 级企业" in page_text(officer.get(f"/inbox/tasks/{revise}"))
    assert "请补充 D 级企业" in page_text(officer.get(f"/plans/{plan_id}"))
    officer.post(f"/plans/{plan_id}/items", data={"enterprise": plan_setup["上海嘉信仓储物流有限公司"]})
    assert officer.post(f"/plans/{plan_id}/submit").status_code == 302  # completes the 修改计划 task
    assert plan_of(app, plan_id)["status"] == "reviewing"
    review = open_row(app, "review_district")
    with app.app_context():
        from app.engine import runtime

        row = db.session.get(HumanTask, review)
        wf = runtime.load(row.instance)
        assert runtime.find_task(wf, row.spiff_task_id).data["item_count"] == 5  # refreshed on resubmission
    decide(district, review, "approve", "同意")
    # The city sends it back too; the drafter resubmits from the inbox task this time.
    decide(city, open_row(app, "review_city"), "reject", "B 级企业检查日期请提前")
    assert plan_of(app, plan_id)["status"] == "returned"
    decide(officer, open_row(app, "revise"), "complete")
    decide(district, open_row(app, "review_district"), "approve")
    decide(city, open_row(app, "review_city"), "approve", "同意公示")
    p = plan_of(app, plan_id)
    assert p["status"] == "publicity" and p["until"] is not None
    with app.app_context():
        from app.engine.models import ProcessInstance

        inst = db.session.get(ProcessInstance, p["instance"])
        assert inst.next_timer_at is not None and abs((inst.next_timer_at - p["until"]).total_seconds()) < 60
    # Before the end of the publicity nothing happens; after it the scheduler publishes the plan.
    with time_machine.travel(p["until"] - timedelta(hours=1), tick=False):
        run_round(app)
    assert plan_of(app, plan_id)["status"] == "publicity"
    with time_machine.travel(p["until"] + timedelta(minutes=1), tick=False):
        run_round(app)
    assert plan_of(app, plan_id)["status"] == "published"
    with app.app_context():
        assert db.session.get(ProcessInstance, p["instance"]).status == "completed"


def test_execution_warning_job(app, plan_setup, client_for):
    from app.engine.cli import ROUND_JOBS
    from app.plans.process import check_execution

    assert ROUND_JOBS["plans.execution"] is check_execution  # the scheduler round calls it
    officer = client_for("hp_officer")
    plan_id = generate(officer)
    with app.app_context():
        plan = db.session.get(MonthlyPlan, plan_id)
        plan.status = "published"  # (publication itself is covered above)
        db.session.commit()
        early = datetime(YEAR, MONTH, 2, 10, tzinfo=SHANGHAI)
        late = datetime(YEAR, MONTH, 22, 10, tzinfo=SHANGHAI)
        assert check_execution(early) == 0  # nothing expected yet
        assert check_execution(late) == 1  # most of the month gone, nothing inspected
        db.session.commit()
        alert = db.session.scalar(select(Alert).where(Alert.plan_id == plan_id))
        assert alert.kind == "plan_lagging" and alert.level == "yellow" and alert.owner.login == "hp_leader"
    # Inspections recorded from the plan page catch up; the month over with items left is red.
    for item_id in _item_ids(app, plan_id)[:3]:
        assert officer.post(f"/plans/items/{item_id}/done").status_code == 302
    with app.app_context():
        assert check_execution(late) == 0
        assert check_execution(datetime(YEAR + 1, 1, 5, 10, tzinfo=SHANGHAI)) == 1
        db.session.commit()
        assert db.session.scalar(select(Alert.level).where(Alert.plan_id == plan_id)) == "red"
        assert db.session.scalar(select(db.func.count(Inspection.id)).where(Inspection.plan_item_id.is_not(None))) == 3
    board = page_text(client_for("hp_leader").get("/alerts/?tab=open"))
    assert "计划执行滞后" in board


def _item_ids(app, plan_id: int) -> list[int]:
    with app.app_context():
        return [i.id for i in db.session.get(MonthlyPlan, plan_id).items]


def test_city_user_generates_for_a_district_and_plans_are_scoped(app, plan_setup, client_for):
    city = client_for("leader")
    assert city.post("/plans/generate", data={"year": YEAR, "month": MONTH}).status_code == 403  # no plan.draft
    officer = client_for("hp_officer")
    plan_id = generate(officer, district="310104")  # a district officer always plans for their own district
    with app.app_context():
        assert db.session.get(MonthlyPlan, plan_id).org.code == "310101"
    assert plan_id and "黄浦区" in page_text(city.get("/plans/"))
    assert "黄浦区" not in page_text(client_for("xh_leader").get("/plans/")).split("plan-table")[1]
