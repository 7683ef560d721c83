"""What people see matches what happened: a rejected instance is 已拒绝 and a terminated one 已终止 (never
已办结); the initiator is told at acceptance, rejection, termination and closure; a clue follows its process;
终止 is offered to those who may use it, with the reason asked in the dialog."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.clues.models import Clue
from app.engine.models import ProcessInstance
from app.extensions import db
from app.inbox import actions
from app.inbox.models import HumanTask, Notification
from tests import bpmn_builder
from tests.conftest import page_text, user
from tests.test_clue_process import accept, clue_process, fast_pdf, registered  # noqa: F401  (fixtures)


def _deploy(app, pid: str) -> None:
    with app.app_context():
        bpmn_builder.deploy_xml(
            pid, bpmn_builder.linear(pid, [("review", "审核", {"assignee": "users:hp_leader", "kind": "approval"})])
        )


def _start(app, pid: str, login: str = "hp_officer") -> int:
    """Started and filled in by ``login``: the approval waits."""
    with app.app_context():
        actor = user(login)
        instance = actions.start(pid, actor=actor, data={})
        row = db.session.scalar(
            select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == "open")
        )
        actions.complete(row, actor, action="complete", form_data={"subject": "仓库检查"})
        db.session.commit()
        return instance.id


def _decide(app, inst: int, action: str, comment: str = "") -> None:
    with app.app_context():
        row = db.session.scalar(
            select(HumanTask).where(
                HumanTask.instance_id == inst, HumanTask.status == "open", HumanTask.step == "review"
            )
        )
        actions.complete(row, user("hp_leader"), action=action, form_data={}, comment=comment)
        db.session.commit()


def _status(app, inst: int) -> str:
    with app.app_context():
        return db.session.get(ProcessInstance, inst).status


def _told(app, inst: int, login: str = "hp_officer") -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(Notification.kind, Notification.title)
            .where(Notification.instance_id == inst, Notification.user_id == user(login).id)
            .order_by(Notification.id)
        ).all()
        return [(r.kind, r.title) for r in rows]


def test_rejected_instance_ends_rejected_and_the_initiator_is_told(app, login_as):
    _deploy(app, "lc_rej")
    inst = _start(app, "lc_rej")
    _decide(app, inst, "reject", "材料不全")
    assert _status(app, inst) == "rejected"
    page = page_text(login_as("hp_officer").get(f"/inbox/instances/{inst}"))
    assert "已拒绝" in page and "已办结" not in page
    assert any(k == "done" and "已被拒绝" in t for k, t in _told(app, inst)), _told(app, inst)


def test_accepted_then_completed_instance_tells_the_initiator_both_times(app):
    _deploy(app, "lc_ok")
    inst = _start(app, "lc_ok")
    _decide(app, inst, "approve", "同意")
    assert ("accepted", "您发起的「仓库检查」已受理（审核：黄浦大队长 同意）") in _told(app, inst), _told(app, inst)
    with app.app_context():  # 归档 by the initiator ends it
        row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == inst, HumanTask.status == "open"))
        actions.complete(row, user("hp_officer"), action="complete", form_data={})
        db.session.commit()
    assert _status(app, inst) == "completed"
    # The initiator closed it themselves: no notification about their own act.
    assert [k for k, _t in _told(app, inst) if k != "new_task"] == ["accepted"]


def test_terminate_offered_to_the_initiator_before_the_first_approval_only(app, login_as):
    _deploy(app, "lc_term")
    inst = _start(app, "lc_term")
    officer = login_as("hp_officer")
    page = officer.get(f"/inbox/instances/{inst}").get_data(as_text=True)
    assert 'data-bs-target="#panel-terminate"' in page and 'name="reason"' in page and "required" in page
    _decide(app, inst, "approve")  # the first approval: from now on only leaders and process admins
    page = officer.get(f"/inbox/instances/{inst}").get_data(as_text=True)
    assert 'data-bs-target="#panel-terminate"' not in page
    resp = officer.post(f"/inbox/instances/{inst}/terminate", data={"reason": "不办了"})
    assert resp.status_code in (302, 403)
    assert _status(app, inst) == "running"
    leader = login_as("hp_leader")
    assert 'data-bs-target="#panel-terminate"' in leader.get(f"/inbox/instances/{inst}").get_data(as_text=True)
    resp = leader.post(f"/inbox/instances/{inst}/terminate", data={"reason": "重复申请"})
    assert resp.status_code == 302
    assert _status(app, inst) == "terminated"
    assert any(k == "done" and "已被终止：重复申请" in t for k, t in _told(app, inst)), _told(app, inst)
    page = page_text(officer.get(f"/inbox/instances/{inst}"))
    assert "已终止" in page and "已办结" not in page


@pytest.mark.usefixtures("clue_process", "fast_pdf")
def test_a_terminated_clue_is_shown_terminated_in_list_page_and_statistics(app, client_for):
    officer = client_for("hp_officer")
    clue_id = registered(app, officer)
    accept(app, client_for)
    with app.app_context():
        inst = db.session.get(Clue, clue_id).instance_id
    assert any(k in ("accepted", "clue_accepted") for k, _t in _told(app, inst))  # 受理 tells the registrar (once)
    resp = client_for("hp_leader").post(f"/inbox/instances/{inst}/terminate", data={"reason": "企业已注销"})
    assert resp.status_code == 302
    assert _status(app, inst) == "terminated"
    with app.app_context():
        assert db.session.get(Clue, clue_id).status == "terminated"
    assert "已终止" in page_text(officer.get(f"/clues/{clue_id}"))
    listing = page_text(officer.get("/clues/"))
    assert "已终止" in listing
    assert clue_id not in [c for c in _open_ids(officer)]
    stats = officer.get("/clues/stats.json").get_json()
    assert {"key": "terminated", "name": "已终止", "value": 1} in stats["by_status"], stats["by_status"]


def _open_ids(client) -> list[int]:

    html = client.get("/clues/?status=open").get_data(as_text=True)
    return [int(x) for x in re.findall(r'href="/clues/(\d+)"', html)]


# ---------------------------------------------------------------------------------------------
# refusals answer on the page the form was on


def test_refusals_answer_on_the_same_page_with_a_chinese_message(app, login_as):
    _deploy(app, "lc_msg")
    inst = _start(app, "lc_msg")
    officer = login_as("hp_officer")
    page = officer.get(f"/inbox/instances/{inst}").get_data(as_text=True)
    back = f"/inbox/instances/{inst}"
    assert f'name="_back" value="{back}"' in page  # every form says which page it is on
    # 422: no reason typed.
    resp = officer.post(f"/inbox/instances/{inst}/terminate", data={"reason": "", "_back": back})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(back)
    shown = page_text(officer.get(back))
    assert "请填写终止原因" in shown and "流程预测" in shown  # the instance page, with the message
    # 403: after the first approval the initiator may not terminate.
    _decide(app, inst, "approve")
    resp = officer.post(f"/inbox/instances/{inst}/terminate", data={"reason": "不办了", "_back": back})
    assert resp.status_code == 303
    assert "发起人不能再终止" in page_text(officer.get(back))
    # 409: a task already handled by someone else.
    with app.app_context():
        done = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == inst, HumanTask.step == "review"))
    leader = login_as("hp_leader")
    task_page = f"/inbox/tasks/{done}"
    resp = leader.post(f"{task_page}/act", data={"action": "approve", "_back": task_page})
    assert resp.status_code == 303
    assert "该任务已由黄浦大队长处理" in page_text(leader.get(task_page))
    # Without the page (an API client, or a form from elsewhere) the status code is the answer.
    assert officer.post(f"/inbox/instances/{inst}/terminate", data={"reason": "x"}).status_code == 403
    assert (
        officer.post(f"/inbox/instances/{inst}/terminate", data={"reason": "x", "_back": "//evil.example/"}).status_code
        == 403
    )
