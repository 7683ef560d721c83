"""A process written elsewhere (SpiffArena conventions) goes through the admin pages and the inbox unchanged.

tests/data/spiffarena/: lanes named by role code, a DMN business rule task whose output sets the review's
deadline, a non-interrupting boundary timer (a reminder), a loop (review → revise → review), a gateway on the
form field `approved` (no Ducha `kind`), forms named in spiffworkflow:properties, and no BPMNDI. Uploaded,
validated and deployed through /admin/processes, then run to both of its ends by officers in the inbox.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import time_machine
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app.engine import runtime, timers
from app.engine.models import ProcessInstance
from app.extensions import db
from app.inbox.models import HumanTask, Notification
from app.models_base import utcnow
from tests.conftest import page_text, user

FILES = Path(__file__).parent / "data" / "spiffarena"
JSON = {"Accept": "application/json"}
PID = "hazard_report"


def _deploy(admin) -> None:
    bpmn = (FILES / "hazard_report.bpmn").read_bytes()
    assert b"BPMNDiagram" not in bpmn
    resp = admin.post("/admin/processes/upload", data={"file": (io.BytesIO(bpmn), "hazard_report.bpmn")})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/admin/processes/{PID}/edit")
    others = [p for p in sorted(FILES.iterdir()) if p.suffix in (".dmn", ".json")]
    resp = admin.post(
        f"/admin/processes/{PID}/files",
        data={"files": [(io.BytesIO(p.read_bytes()), p.name) for p in others]},
        headers=JSON,
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    result = admin.post(f"/admin/processes/{PID}/validate", json={}, headers=JSON).get_json()
    assert result["ok"] is True, result
    resp = admin.post(f"/admin/processes/{PID}/deploy", json={"comment": "来自 SpiffArena"}, headers=JSON)
    assert resp.status_code == 200 and resp.get_json()["version"] == 1, resp.get_data(as_text=True)


def _open(app, iid: int) -> HumanTask | None:
    with app.app_context():
        row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == "open"))
        if row is not None:
            db.session.expunge(row)
        return row


def _submit(client, row: HumanTask, **form) -> None:
    resp = client.post(f"/inbox/tasks/{row.id}/act", data={"action": "complete", **form})
    assert resp.status_code == 302, page_text(resp)


def _start(app, officer) -> int:
    resp = officer.post(f"/inbox/start/{PID}", data={})
    assert resp.status_code == 302
    with app.app_context():
        iid = db.session.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id.desc()))
    row = _open(app, iid)
    # The role-offered first step opens claimed for the initiator: they land on it.
    assert resp.headers["Location"].endswith(f"/inbox/tasks/{row.id}") and row.step == "Activity_report"
    _submit(officer, row, site="久事大厦地下车库", description="消防通道堆放杂物", people_exposed="80")
    return iid


def _end(app, iid: int) -> str:
    with app.app_context():
        inst = db.session.get(ProcessInstance, iid)
        assert inst.status == "completed"
        done = runtime.load(inst).get_tasks(state=TaskState.COMPLETED)
        return next(t.task_spec.bpmn_id for t in done if (t.task_spec.bpmn_id or "").startswith("EndEvent_"))


def test_a_spiffarena_process_runs_to_both_ends_through_the_inbox(app, login_as):
    admin, officer, leader = login_as("procadmin"), login_as("hp_officer"), login_as("hp_leader")
    _deploy(admin)

    # First instance: the DMN grades it 高 with a one-working-day deadline, the reminder fires, the review sends
    # it back (approved left unticked), the officer supplements it, the second review approves it.
    iid = _start(app, officer)
    review = _open(app, iid)
    assert review.step == "Activity_review" and review.candidate_role == "district_leader"
    with app.app_context():
        from app.engine.calendar import get_calendar

        data = runtime.instance_data(runtime.load(db.session.get(ProcessInstance, iid)))
        assert data["risk_level"] == "高" and data["deadline_workdays"] == 1
        expected = get_calendar().add_working_days(utcnow(), 1)
        assert abs((review.due_at - expected).total_seconds()) < 120
        title = db.session.get(ProcessInstance, iid).title
    assert title == "隐患报告：久事大厦地下车库 消防通道堆放杂物"
    listing = page_text(leader.get("/inbox/"))
    assert "审核隐患" in listing and title in listing and "xh_leader" not in listing
    with app.app_context(), time_machine.travel(utcnow() + timedelta(hours=4, minutes=5), tick=False):
        assert timers.fire_due(now=utcnow()) == 1
    with app.app_context():
        reminded = db.session.scalars(select(Notification.user_id).where(Notification.kind == "remind")).all()
        assert user("hp_leader").id in reminded and user("xh_leader").id not in reminded
    assert _open(app, iid).id == review.id  # a reminder, the task stays

    _submit(leader, review, review_note="请补充现场照片说明")  # approved unticked: routes by the form value
    revise = _open(app, iid)
    assert revise.step == "Activity_revise"
    _submit(officer, revise, supplement="已清理一半，剩余本周内清理")
    again = _open(app, iid)
    assert again.step == "Activity_review" and again.id != review.id  # the loop
    _submit(leader, again, approved="on", review_note="同意")
    assert _end(app, iid) == "EndEvent_approved"

    # Second instance: sent back, and the officer gives up: the other end.
    iid2 = _start(app, officer)
    _submit(leader, _open(app, iid2), review_note="不属实")
    _submit(officer, _open(app, iid2), give_up="on", supplement="核实后不属实")
    assert _end(app, iid2) == "EndEvent_withdrawn"

    history = page_text(officer.get(f"/inbox/instances/{iid}"))
    assert re.search("审核隐患.*补充材料.*审核隐患", history)
