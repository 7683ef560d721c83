"""Attack: 抄送/转办/委派/加签 outside the data scope and R2.1.7 (issue 14).

An open clue of 黄浦 may be seen only by its handling units and the city corps. A district officer used to
抄送 it to an SOE account or another district, who could then read the print page, the PDF and the API
history; a city officer could 转办 研判 to an SOE account who then completed it. The service now refuses
such targets and the picker no longer offers them."""

from __future__ import annotations

from sqlalchemy import select

from app.clues.models import Clue
from app.extensions import db
from app.inbox.models import CarbonCopy, HumanTask
from tests.conftest import page_text
from tests.test_clue_process import accept, clue_process, fast_pdf, open_row, registered  # noqa: F401


def _instance(app, clue_id: int) -> int:
    with app.app_context():
        return db.session.get(Clue, clue_id).instance_id


def _cannot_read(app, client, instance_id: int) -> None:
    for path in (
        f"/inbox/instances/{instance_id}",
        f"/inbox/instances/{instance_id}/print",
        f"/inbox/instances/{instance_id}/print.pdf",
        f"/api/v1/instances/{instance_id}/history",
    ):
        assert client.get(path).status_code in (403, 404), path


def test_district_officer_cannot_cc_an_open_clue_outside_its_units(app, client_for, clue_process, fast_pdf):  # noqa: F811
    officer = client_for("hp_officer")
    inst = _instance(app, registered(app, officer))
    for target in ("soe", "xh_officer", "soe_unit"):
        resp = officer.post(f"/inbox/instances/{inst}/cc", data={"user": target, "reason": "请阅"})
        assert resp.status_code == 422, target
        assert "不能选择这些人员" in page_text(resp) and "不在该流程的数据范围内" in page_text(resp)
    with app.app_context():
        assert db.session.scalar(select(CarbonCopy.id).where(CarbonCopy.instance_id == inst)) is None
    _cannot_read(app, client_for("soe"), inst)
    _cannot_read(app, client_for("xh_officer"), inst)
    # the city corps may be copied
    assert officer.post(f"/inbox/instances/{inst}/cc", data={"user": "leader"}).status_code == 302


def test_cc_transfer_delegate_add_sign_on_a_task_refuse_outsiders(app, client_for, clue_process, fast_pdf):  # noqa: F811
    inst = _instance(app, registered(app, client_for("hp_officer")))
    leader = client_for("hp_leader")
    task = open_row(app, "accept")
    for action, field in (("transfer", "user"), ("delegate", "user"), ("add_sign", "user"), ("cc", "user")):
        for target in ("soe", "xh_leader"):
            resp = leader.post(f"/inbox/tasks/{task}/act", data={"action": action, field: target, "mode": "after"})
            assert resp.status_code == 422 and "不能选择这些人员" in page_text(resp), (action, target)
    with app.app_context():
        rows = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == inst)).all()
        assert [(r.step, r.status) for r in rows] == [("accept", "open")]
    _cannot_read(app, client_for("soe"), inst)


def test_city_officer_cannot_transfer_judging_to_an_soe_account(app, client_for, clue_process, fast_pdf):  # noqa: F811
    clue = registered(app, client_for("hp_officer"))
    accept(app, client_for)
    judge = open_row(app, "judge")
    city = client_for("city_officer")
    resp = city.post(f"/inbox/tasks/{judge}/act", data={"action": "transfer", "user": "soe", "comment": "请研判"})
    assert resp.status_code == 422 and "不在该流程的数据范围内" in page_text(resp)
    soe = client_for("soe")
    done = soe.post(f"/inbox/tasks/{judge}/act", data={"action": "complete", "verifiable": "yes", "risk_level": "low"})
    assert done.status_code in (403, 404)
    with app.app_context():
        assert db.session.get(HumanTask, judge).status == "open"
        assert db.session.get(Clue, clue).status != "dispatching"
    # a valid hand-over inside the city corps still works
    ok = city.post(f"/inbox/tasks/{judge}/act", data={"action": "transfer", "user": "chief", "comment": "请研判"})
    assert ok.status_code == 302


def test_picker_offers_only_valid_targets(app, client_for, clue_process, fast_pdf):  # noqa: F811
    inst = _instance(app, registered(app, client_for("hp_officer")))
    city = client_for("city_officer")
    everyone = {u["value"] for u in city.get("/inbox/pick/user?q=_").get_json()}
    assert {"soe_unit", "xh_officer", "hp_officer"} <= everyone  # the city corps' scope is the whole city
    offered = {u["value"] for u in city.get(f"/inbox/pick/user?q=_&instance={inst}").get_json()}
    assert "hp_officer" in offered and "hp_leader" in offered
    assert not offered & {"soe_unit", "xh_officer", "xh_leader"}
    assert city.get(f"/inbox/pick/user?q=_&instance={2**64}").status_code == 400
    # someone who cannot see the instance gets nothing from it
    assert client_for("xh_officer").get(f"/inbox/pick/user?q=_&instance={inst}").status_code == 404


def test_r217_visibility_applies_even_inside_the_scope(app, client_for, clue_process, fast_pdf):  # noqa: F811
    """A unit the work once passed through (an old task row in 徐汇) is inside the instance's scope, but an
    open clue of 黄浦 is still invisible to it (R2.1.7): the business rule refuses the target."""
    from app.orgs.models import Organisation

    inst = _instance(app, registered(app, client_for("hp_officer")))
    with app.app_context():
        row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == inst))
        xh = db.session.scalar(select(Organisation).where(Organisation.code == "310104"))
        db.session.add(
            HumanTask(
                instance_id=inst,
                spiff_task_id="old-routing",
                group_id=row.group_id,
                step="old",
                step_name="旧环节",
                process_id=row.process_id,
                org_id=xh.id,
                status="cancelled",
            )
        )
        db.session.commit()
    resp = client_for("hp_officer").post(f"/inbox/instances/{inst}/cc", data={"user": "xh_officer"})
    assert resp.status_code == 422 and "无权查看该业务事项" in page_text(resp)


def test_designer_cc_node_cannot_copy_outside_the_scope(app, ctx, login_as):
    """A 抄送人 node configured with an SOE account: the process stops with an incident, nobody is copied."""
    from app.engine.models import Incident, ProcessInstance
    from tests.test_designer_compile import deploy_tree, make_tree, task

    deploy_tree(
        make_tree(
            "d_cc_out",
            [{"id": "copy", "type": "cc", "name": "抄送", "users": ["soe"]}, task("archive", "initiator")],
        )
    )
    resp = login_as("hp_officer").post(
        "/inbox/start/d_cc_out", data={"subject": "抄送越界", "category": "other", "amount": "1"}
    )
    inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.process_id == "d_cc_out"))
    assert resp.status_code == 302 and inst.status == "error"
    assert db.session.scalar(select(CarbonCopy.id).where(CarbonCopy.instance_id == inst.id)) is None
    incident = db.session.scalar(select(Incident).where(Incident.instance_id == inst.id))
    assert "不在该流程的数据范围内" in incident.message
