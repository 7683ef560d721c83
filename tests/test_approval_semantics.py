"""Approval semantics (审批语义): methods, actions and per-node settings, through HTTP as real roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.engine.models import ProcessInstance
from app.extensions import db
from app.inbox.models import CarbonCopy, HumanTask, Notification
from app.models_base import utcnow
from tests import bpmn_builder
from tests.conftest import page_text

THREE = "hp_leader,xh_leader,leader"


def deploy(app, pid, nodes=None, xml=None):
    with app.app_context():
        bpmn_builder.deploy_xml(pid, xml or bpmn_builder.linear(pid, nodes))


def rows(app, **where):
    with app.app_context():
        stmt = select(HumanTask).order_by(HumanTask.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(HumanTask, key) == value)
        return [
            {
                "id": r.id,
                "step": r.step,
                "status": r.status,
                "user": r.assignee.login if r.assignee else None,
                "outcome": r.outcome,
                "inst": r.instance_id,
            }
            for r in db.session.scalars(stmt)
        ]


def open_for(app, login, step=None):
    return [r for r in rows(app, status="open") if r["user"] == login and (step is None or r["step"] == step)]


def start(app, client, pid, subject="审批事项", **extra):
    resp = client.post(f"/inbox/start/{pid}")
    assert resp.status_code == 302, page_text(resp)
    task_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    resp = client.post(f"/inbox/tasks/{task_id}/act", data={"action": "complete", "subject": subject, **extra})
    assert resp.status_code == 302, page_text(resp)
    with app.app_context():
        return db.session.get(HumanTask, task_id).instance_id


def act(client, task_id, action, **data):
    return client.post(f"/inbox/tasks/{task_id}/act", data={"action": action, **data})


def status(app, inst_id):
    with app.app_context():
        return db.session.get(ProcessInstance, inst_id).status


# ---------------------------------------------------------------- methods


def test_countersign_all_must_approve(app, login_as):
    deploy(app, "m_all", [("node", "会签", {"assignee": f"users:{THREE}", "method": "all"})])
    officer = login_as("hp_officer")
    inst = start(app, officer, "m_all")
    members = rows(app, step="node")
    assert sorted(m["user"] for m in members) == ["hp_leader", "leader", "xh_leader"]
    assert all(m["status"] == "open" for m in members)
    for login in ("hp_leader", "xh_leader"):
        [row] = open_for(app, login, "node")
        assert act(login_as(login), row["id"], "approve").status_code == 302
        assert rows(app, step="archive") == []  # not yet: everyone must approve
    [row] = open_for(app, "leader", "node")
    act(login_as("leader"), row["id"], "approve")
    assert [r["status"] for r in rows(app, step="archive")] == ["open"]
    assert status(app, inst) == "running"


def test_countersign_one_rejection_decides_and_cancels_others(app, login_as):
    deploy(app, "m_all_r", [("node", "会签", {"assignee": f"users:{THREE}", "method": "all"})])
    inst = start(app, login_as("hp_officer"), "m_all_r")
    [row] = open_for(app, "xh_leader", "node")
    act(login_as("xh_leader"), row["id"], "reject", comment="不同意")
    assert status(app, inst) == "rejected"  # the diagram routes a rejection to end_rejected: 已拒绝
    states = {r["user"]: r["status"] for r in rows(app, step="node")}
    assert states == {"xh_leader": "completed", "hp_leader": "cancelled", "leader": "cancelled"}


def test_or_sign_first_decides_and_others_do_not_see_it_as_done(app, login_as):
    deploy(app, "m_any", [("node", "或签", {"assignee": f"users:{THREE}", "method": "any"})])
    start(app, login_as("hp_officer"), "m_any", subject="或签事项")
    [row] = open_for(app, "leader", "node")
    act(login_as("leader"), row["id"], "reject", comment="退回重办")
    assert "或签事项" in page_text(login_as("leader").get("/inbox/?tab=done"))
    for other in ("hp_leader", "xh_leader"):
        assert "或签事项" not in page_text(login_as(other).get("/inbox/?tab=done"))
        assert "或签事项" not in page_text(login_as(other).get("/inbox/?tab=todo"))


def test_sequential_one_after_another(app, login_as):
    deploy(app, "m_seq", [("node", "依次", {"assignee": "users:hp_leader,leader", "method": "sequential"})])
    start(app, login_as("hp_officer"), "m_seq")
    assert open_for(app, "leader", "node") == []
    [first] = open_for(app, "hp_leader", "node")
    act(login_as("hp_leader"), first["id"], "approve")
    [second] = open_for(app, "leader", "node")
    act(login_as("leader"), second["id"], "approve")
    assert [r["status"] for r in rows(app, step="archive")] == ["open"]


def test_ratio_passes_at_percentage(app, login_as):
    deploy(app, "m_ratio", [("node", "比例", {"assignee": f"users:{THREE}", "method": "ratio:60"})])
    start(app, login_as("hp_officer"), "m_ratio")
    [a] = open_for(app, "hp_leader", "node")
    act(login_as("hp_leader"), a["id"], "approve")
    assert rows(app, step="archive") == []  # 1 of 3 = 33%
    [b] = open_for(app, "xh_leader", "node")
    act(login_as("xh_leader"), b["id"], "approve")  # 2 of 3 = 67% >= 60%
    assert [r["status"] for r in rows(app, step="archive")] == ["open"]
    assert {r["user"]: r["status"] for r in rows(app, step="node")}["leader"] == "cancelled"


# ---------------------------------------------------------------- 退回 (the failure classes)


def test_return_from_countersign_loses_no_task(app, login_as):
    deploy(app, "r_all", [("node", "会签", {"assignee": f"users:{THREE}", "method": "all"})])
    officer = login_as("hp_officer")
    start(app, officer, "r_all")
    [a] = open_for(app, "hp_leader", "node")
    act(login_as("hp_leader"), a["id"], "approve")
    [b] = open_for(app, "leader", "node")
    resp = act(login_as("leader"), b["id"], "return", target="fill", comment="请补充材料")
    assert resp.status_code == 302
    assert {r["status"] for r in rows(app, step="node")} == {"completed", "cancelled"}
    [fill] = open_for(app, "hp_officer", "fill")
    act(officer, fill["id"], "complete", subject="补充后")
    fresh = [r for r in rows(app, step="node") if r["status"] == "open"]
    assert sorted(r["user"] for r in fresh) == ["hp_leader", "leader", "xh_leader"]  # a whole new round


def test_return_from_parallel_branch_cancels_sibling(app, login_as):
    xml = bpmn_builder.parallel(
        "r_par", [("a", "分支甲", {"assignee": "users:hp_leader"}), ("b", "分支乙", {"assignee": "users:xh_leader"})]
    )
    deploy(app, "r_par", xml=xml)
    start(app, login_as("hp_officer"), "r_par")
    [a] = open_for(app, "hp_leader", "a")
    [b] = open_for(app, "xh_leader", "b")
    act(login_as("hp_leader"), a["id"], "return", target="fill", comment="分支甲退回")
    assert rows(app, id=b["id"])[0]["status"] == "cancelled"
    assert [r["step"] for r in rows(app, status="open")] == ["fill"]
    # Resubmitting opens both branches again, once each.
    [fill] = open_for(app, "hp_officer", "fill")
    act(login_as("hp_officer"), fill["id"], "complete", subject="再次提交")
    assert sorted(r["step"] for r in rows(app, status="open")) == ["a", "b"]


def test_return_only_to_visited_steps(app, login_as):
    deploy(
        app,
        "r_visited",
        [("n1", "一审", {"assignee": "users:hp_leader"}), ("n2", "二审", {"assignee": "users:leader"})],
    )
    start(app, login_as("hp_officer"), "r_visited")
    [n1] = open_for(app, "hp_leader", "n1")
    page = page_text(login_as("hp_leader").get(f"/inbox/tasks/{n1['id']}"))
    assert 'value="fill"' in page and 'value="n2"' not in page and 'value="archive"' not in page
    resp = act(login_as("hp_leader"), n1["id"], "return", target="n2", comment="x")
    assert resp.status_code == 422 and "只能退回到本流程已经过的步骤" in page_text(resp)


def test_return_with_open_add_sign_is_resolved_cleanly(app, login_as):
    deploy(app, "r_sign", [("node", "审批", {"assignee": "users:hp_leader"})])
    start(app, login_as("hp_officer"), "r_sign")
    [row] = open_for(app, "hp_leader", "node")
    leader = login_as("hp_leader")
    assert act(leader, row["id"], "add_sign", user="chief", mode="after").status_code == 302
    [added] = open_for(app, "chief", "node")
    assert act(leader, row["id"], "return", target="fill", comment="退回").status_code == 302
    assert rows(app, id=added["id"])[0]["status"] == "cancelled"
    assert [r["step"] for r in rows(app, status="open")] == ["fill"]


def test_return_direct_goes_straight_back_to_returning_node(app, login_as):
    deploy(
        app, "r_direct", [("n1", "一审", {"assignee": "users:hp_leader"}), ("n2", "二审", {"assignee": "users:leader"})]
    )
    officer = login_as("hp_officer")
    start(app, officer, "r_direct")
    [n1] = open_for(app, "hp_leader", "n1")
    act(login_as("hp_leader"), n1["id"], "approve")
    [n2] = open_for(app, "leader", "n2")
    act(login_as("leader"), n2["id"], "return", target="fill", comment="改一下", direct="1")
    [fill] = open_for(app, "hp_officer", "fill")
    act(officer, fill["id"], "complete", subject="改好了")
    assert open_for(app, "hp_leader", "n1") == []  # skipped
    assert len(open_for(app, "leader", "n2")) == 1


# ---------------------------------------------------------------- other actions


def test_withdraw_before_next_acts_and_refused_after(app, login_as):
    deploy(app, "a_wd", [("node", "审批", {"assignee": "users:hp_leader"})])
    officer = login_as("hp_officer")
    inst = start(app, officer, "a_wd")
    assert officer.post(f"/inbox/instances/{inst}/withdraw").status_code == 302
    [fill] = open_for(app, "hp_officer", "fill")
    assert [r["status"] for r in rows(app, step="node")] == ["cancelled"]
    act(officer, fill["id"], "complete", subject="再提交")
    [node] = open_for(app, "hp_leader", "node")
    act(login_as("hp_leader"), node["id"], "draft")  # the next step has acted (saved a draft)
    refused = officer.post(f"/inbox/instances/{inst}/withdraw")
    assert refused.status_code == 409 and "已有人处理" in page_text(refused)


def test_reclaim_by_last_approver(app, login_as):
    deploy(app, "a_rc", [("n1", "一审", {"assignee": "users:hp_leader"}), ("n2", "二审", {"assignee": "users:leader"})])
    inst = start(app, login_as("hp_officer"), "a_rc")
    [n1] = open_for(app, "hp_leader", "n1")
    leader = login_as("hp_leader")
    act(leader, n1["id"], "approve")
    assert login_as("leader").post(f"/inbox/instances/{inst}/reclaim").status_code == 409  # not theirs
    assert leader.post(f"/inbox/instances/{inst}/reclaim").status_code == 302
    assert len(open_for(app, "hp_leader", "n1")) == 1 and open_for(app, "leader", "n2") == []


def test_transfer(app, login_as):
    deploy(app, "a_tr", [("node", "审批", {"assignee": "users:hp_leader"})])
    start(app, login_as("hp_officer"), "a_tr")
    [row] = open_for(app, "hp_leader", "node")
    assert act(login_as("hp_leader"), row["id"], "transfer", user="leader", comment="请领导审批").status_code == 302
    assert open_for(app, "hp_leader") == []
    [mine] = open_for(app, "leader", "node")
    act(login_as("leader"), mine["id"], "approve")
    assert len(rows(app, step="archive")) == 1


def test_delegate_answer_comes_back(app, login_as):
    deploy(app, "a_dg", [("node", "审批", {"assignee": "users:hp_leader"})])
    start(app, login_as("hp_officer"), "a_dg")
    [row] = open_for(app, "hp_leader", "node")
    act(login_as("hp_leader"), row["id"], "delegate", user="hp_officer", comment="请先核实")
    [delegated] = open_for(app, "hp_officer", "node")
    act(login_as("hp_officer"), delegated["id"], "complete", subject="已核实", comment="情况属实")
    assert rows(app, step="archive") == []  # the delegate does not decide
    [back] = open_for(app, "hp_leader", "node")
    assert back["id"] == row["id"]
    act(login_as("hp_leader"), back["id"], "approve")
    assert len(rows(app, step="archive")) == 1


def test_add_sign_before_and_remove_sign(app, login_as):
    deploy(app, "a_as", [("node", "审批", {"assignee": "users:hp_leader"})])
    start(app, login_as("hp_officer"), "a_as")
    [row] = open_for(app, "hp_leader", "node")
    me = login_as("hp_leader")
    act(me, row["id"], "add_sign", user="chief,leader", mode="before")
    assert open_for(app, "hp_leader") == []  # waits for the added signers
    [x] = open_for(app, "chief", "node")
    [ld] = open_for(app, "leader", "node")
    # 减签 is only for the one who added, and only for added signers.
    assert act(login_as("chief"), ld["id"], "remove_sign").status_code in (403, 404)
    assert act(me, ld["id"], "remove_sign").status_code == 302
    act(login_as("chief"), x["id"], "approve")
    [back] = open_for(app, "hp_leader", "node")
    act(me, back["id"], "approve")
    assert len(rows(app, step="archive")) == 1


def test_remove_sign_refused_for_original_signers(app, login_as):
    deploy(app, "a_rs", [("node", "会签", {"assignee": "users:hp_leader,xh_leader", "method": "all"})])
    start(app, login_as("hp_officer"), "a_rs")
    [x] = open_for(app, "xh_leader", "node")
    resp = act(login_as("hp_leader"), x["id"], "remove_sign")
    assert resp.status_code in (404, 409)
    assert open_for(app, "xh_leader", "node")


def test_carbon_copy_tab_with_read_status(app, login_as):
    deploy(app, "a_cc", [("node", "审批", {"assignee": "users:hp_leader"})])
    inst = start(app, login_as("hp_officer"), "a_cc", subject="抄送事项")
    [row] = open_for(app, "hp_leader", "node")
    act(login_as("hp_leader"), row["id"], "cc", user="leader", comment="请知悉")
    leader = login_as("leader")
    page = page_text(leader.get("/inbox/?tab=cc"))
    assert "抄送事项" in page and "未读" in page
    leader.get(f"/inbox/instances/{inst}")
    assert "已读" in page_text(leader.get("/inbox/?tab=cc"))
    with app.app_context():
        assert db.session.scalar(select(CarbonCopy.read_at)) is not None


def test_urge_notifies_current_holder(app, login_as):
    deploy(app, "a_urge", [("node", "审批", {"assignee": "users:hp_leader"})])
    start(app, login_as("hp_officer"), "a_urge")
    [row] = open_for(app, "hp_leader", "node")
    officer = login_as("hp_officer")
    # The initiator urges from the instance page (they are not the task holder, so the task page is read-only).
    assert (
        officer.post(f"/inbox/tasks/{row['id']}/act", data={"action": "urge", "comment": "请尽快"}).status_code == 302
    )
    again = officer.post(f"/inbox/tasks/{row['id']}/act", data={"action": "urge"})
    assert again.status_code == 409 and "刚刚已催办过" in page_text(again)
    with app.app_context():
        from app.auth.models import User

        kinds = [
            n.kind
            for n in db.session.scalars(
                select(Notification).join(User, User.id == Notification.user_id).where(User.login == "hp_leader")
            )
        ]
        assert "urge" in kinds


def test_terminate_with_reason_by_initiator_only(app, login_as):
    deploy(app, "a_term", [("node", "审批", {"assignee": "users:hp_leader"})])
    inst = start(app, login_as("hp_officer"), "a_term")
    assert login_as("hp_leader").post(f"/inbox/instances/{inst}/terminate", data={"reason": "x"}).status_code == 403
    assert login_as("hp_officer").post(f"/inbox/instances/{inst}/terminate").status_code == 422
    assert (
        login_as("hp_officer").post(f"/inbox/instances/{inst}/terminate", data={"reason": "重复申请"}).status_code
        == 302
    )
    assert status(app, inst) == "terminated"
    assert rows(app, status="open") == []


def test_draft_is_kept(app, login_as):
    deploy(app, "a_draft", [("node", "审批", {"assignee": "users:hp_leader"})])
    start(app, login_as("hp_officer"), "a_draft")
    [row] = open_for(app, "hp_leader", "node")
    me = login_as("hp_leader")
    act(me, row["id"], "draft", secret="草稿内容123")
    assert "草稿内容123" in page_text(me.get(f"/inbox/tasks/{row['id']}"))


def test_double_click_approve_creates_one_effect(app, login_as):
    deploy(app, "a_dbl", [("node", "审批", {"assignee": "users:hp_leader"})])
    start(app, login_as("hp_officer"), "a_dbl")
    [row] = open_for(app, "hp_leader", "node")
    me = login_as("hp_leader")
    assert act(me, row["id"], "approve").status_code == 302
    second = act(me, row["id"], "approve")
    assert second.status_code == 409 and "请勿重复提交" in page_text(second)
    assert len(rows(app, step="archive")) == 1


# ---------------------------------------------------------------- per-node settings


def test_no_approver_auto_approve(app, login_as):
    deploy(app, "s_none", [("node", "审批", {"assignee": "users:nobody", "onNoApprover": "auto_approve"})])
    start(app, login_as("hp_officer"), "s_none")
    assert rows(app, step="node") == []
    assert len(rows(app, step="archive")) == 1


def test_no_approver_defaults_to_process_admin(app, login_as):
    deploy(app, "s_admin", [("node", "审批", {"assignee": "users:nobody", "onNoApprover": "admin"})])
    start(app, login_as("hp_officer"), "s_admin", subject="无人审批")
    assert "无人审批" in page_text(login_as("procadmin").get("/inbox/"))


def test_initiator_is_approver_skip(app, login_as):
    deploy(app, "s_self", [("node", "审批", {"assignee": "users:hp_officer", "onInitiator": "skip"})])
    start(app, login_as("hp_officer"), "s_self")
    assert rows(app, step="node") == [] and len(rows(app, step="archive")) == 1


def test_initiator_is_approver_passes_to_leader(app, login_as):
    deploy(app, "s_lead", [("node", "审批", {"assignee": "users:hp_officer", "onInitiator": "leader"})])
    start(app, login_as("hp_officer"), "s_lead")
    assert [r["user"] for r in rows(app, step="node")] == ["hp_leader"]


def test_auto_pass_repeated_approver(app, login_as):
    deploy(
        app,
        "s_auto",
        [
            ("n1", "一审", {"assignee": "users:hp_leader"}),
            ("n2", "复审", {"assignee": "users:hp_leader", "autoPass": "consecutive"}),
        ],
    )
    start(app, login_as("hp_officer"), "s_auto")
    [n1] = open_for(app, "hp_leader", "n1")
    act(login_as("hp_leader"), n1["id"], "approve")
    assert rows(app, step="n2") == []
    assert len(rows(app, step="archive")) == 1


def test_leader_assignee_and_buttons_labels(app, login_as):
    deploy(app, "s_btn", [("node", "审批", {"assignee": "leader", "buttons": "approve:同意,reject:不同意"})])
    start(app, login_as("hp_officer"), "s_btn")
    [row] = open_for(app, "hp_leader", "node")
    page = page_text(login_as("hp_leader").get(f"/inbox/tasks/{row['id']}"))
    assert ">同意<" in page.replace(" ", "") and ">不同意<" in page.replace(" ", "")
    assert "转办" not in page  # only the configured buttons


def test_field_permissions_hidden_and_readonly(app, login_as):
    deploy(
        app,
        "s_fp",
        [("node", "审批", {"assignee": "users:hp_leader", "fieldPermissions": "secret:hidden,subject:readonly"})],
    )
    start(app, login_as("hp_officer"), "s_fp", subject="只读事项", secret="机密备注")
    [row] = open_for(app, "hp_leader", "node")
    me = login_as("hp_leader")
    page = page_text(me.get(f"/inbox/tasks/{row['id']}"))
    assert "机密备注" not in page and "只读事项" in page and 'name="subject"' not in page
    act(me, row["id"], "approve", subject="篡改")
    with app.app_context():
        from app.engine import runtime

        inst = db.session.get(ProcessInstance, rows(app, step="archive")[0]["inst"])
        assert runtime.instance_data(runtime.load(inst))["subject"] == "只读事项"


def test_timeout_remind_then_auto_approve_and_survives_return(app, login_as):
    from app.inbox import deadlines

    deploy(
        app,
        "s_to",
        [
            (
                "node",
                "审批",
                {"assignee": "users:hp_leader", "dueDays": "1", "remindTimes": "1", "timeoutAction": "auto_approve"},
            )
        ],
    )
    start(app, login_as("hp_officer"), "s_to")
    [row] = open_for(app, "hp_leader", "node")
    # Return and re-enter: the new row gets its own deadline and reminders.
    act(login_as("hp_leader"), row["id"], "return", target="fill", comment="补充")
    [fill] = open_for(app, "hp_officer", "fill")
    act(login_as("hp_officer"), fill["id"], "complete", subject="补充后")
    [row] = open_for(app, "hp_leader", "node")
    with app.app_context():
        assert deadlines.process_due()["reminded"] == 0  # just arrived: not 即将到期 yet
    with time_machine.travel(utcnow() + timedelta(hours=19), tick=False), app.app_context():
        assert deadlines.process_due()["reminded"] == 1  # 75 % of its day has passed
        kinds = [n.kind for n in db.session.scalars(select(Notification))]
        assert "remind" in kinds
    with time_machine.travel(utcnow() + timedelta(days=1, hours=5), tick=False), app.app_context():
        assert deadlines.process_due()["decided"] == 1
    assert rows(app, id=row["id"])[0]["outcome"] == "auto_approve"
    assert len(rows(app, step="archive")) == 1


def test_timeout_escalates_to_leader(app, login_as):
    from app.inbox import deadlines

    deploy(
        app,
        "s_esc",
        [
            (
                "node",
                "审批",
                {"assignee": "users:hp_officer", "dueDays": "1", "remindTimes": "0", "timeoutAction": "escalate"},
            )
        ],
    )
    start(app, login_as("xh_officer"), "s_esc")
    [row] = open_for(app, "hp_officer", "node")
    with time_machine.travel(utcnow() + timedelta(days=2), tick=False), app.app_context():
        assert deadlines.process_due()["escalated"] == 1
    assert open_for(app, "hp_leader", "node")[0]["id"] == row["id"]


def test_reason_required_on_approve(app, login_as):
    deploy(app, "s_reason", [("node", "审批", {"assignee": "users:hp_leader", "reasonRequired": "approve,reject"})])
    start(app, login_as("hp_officer"), "s_reason")
    [row] = open_for(app, "hp_leader", "node")
    resp = act(login_as("hp_leader"), row["id"], "approve")
    assert resp.status_code == 422 and "通过时必须填写意见" in page_text(resp)


def test_done_list_exact_when_filtered_and_paged(app, login_as):
    app.config["PAGE_SIZE"] = 3
    try:
        deploy(app, "p_a", [("node", "审批", {"assignee": "users:hp_leader"})])
        deploy(app, "p_b", [("node", "审批", {"assignee": "users:hp_leader"})])
        officer, me = login_as("hp_officer"), login_as("hp_leader")
        for i in range(4):
            start(app, officer, "p_a", subject=f"甲{i}")
            start(app, officer, "p_b", subject=f"乙{i}")
        for row in open_for(app, "hp_leader", "node"):
            act(me, row["id"], "approve")
        page1 = page_text(me.get("/inbox/?tab=done&process=p_a"))
        page2 = page_text(me.get("/inbox/?tab=done&process=p_a&page=2"))
        assert "共 4 条" in page1
        shown = [f"甲{i}" for i in range(4) if f"甲{i}" in page1 or f"甲{i}" in page2]
        assert len(shown) == 4 and "乙" not in page1 + page2
    finally:
        app.config["PAGE_SIZE"] = 20


def test_signature_required_and_shown_in_print(app, login_as):
    deploy(app, "s_sig", [("node", "签发", {"assignee": "users:leader", "signature": "true"})])
    inst = start(app, login_as("hp_officer"), "s_sig")
    [row] = open_for(app, "leader", "node")
    me = login_as("leader")
    assert act(me, row["id"], "approve").status_code == 422
    png = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
        "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    )
    assert act(me, row["id"], "approve", signature=png).status_code == 302
    page = page_text(me.get(f"/inbox/instances/{inst}/print"))
    assert "签名" in page and png[:40] in page
    pending = me.get(f"/inbox/instances/{inst}/print.pdf")  # rendered by the job worker, not the request
    assert pending.status_code == 202 and 'class="progress"' in pending.get_data(as_text=True)
    from app.reports import jobs

    assert jobs.wait_for_jobs(60)
    pdf = me.get(f"/inbox/instances/{inst}/print.pdf")  # the same data: the record rendered once is served
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    import io

    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "审批记录" in text and "签发" in text


def test_common_phrases(app, login_as):
    deploy(app, "s_ph", [("node", "审批", {"assignee": "users:hp_leader"})])
    start(app, login_as("hp_officer"), "s_ph")
    me = login_as("hp_leader")
    me.post("/inbox/phrases", data={"text": "同意，请按规定办理"})
    [row] = open_for(app, "hp_leader", "node")
    assert "同意，请按规定办理" in page_text(me.get(f"/inbox/tasks/{row['id']}"))


@pytest.mark.parametrize("login", ["xh_leader", "soe"])
def test_outsiders_cannot_act(app, login_as, login):
    deploy(app, "s_out", [("node", "审批", {"assignee": "users:hp_leader"})])
    start(app, login_as("hp_officer"), "s_out")
    [row] = open_for(app, "hp_leader", "node")
    assert act(login_as(login), row["id"], "approve").status_code in (403, 404)
    assert open_for(app, "hp_leader", "node")


# ---------------------------------------------------------------- 流程预测


def test_prediction_linear_with_people(app, login_as):
    deploy(
        app, "pr_lin", [("n1", "一审", {"assignee": "users:hp_leader"}), ("n2", "二审", {"assignee": "leader_up:1"})]
    )
    inst = start(app, login_as("hp_officer"), "pr_lin")
    with app.app_context():
        from app.engine.predict import predict

        steps = predict(db.session.get(ProcessInstance, inst))
    assert [(s.step, s.current) for s in steps] == [("n1", True), ("n2", False), ("gw", False)]
    assert steps[0].people == ["黄浦大队长"]
    assert steps[1].people == ["周建国"]  # leaders one level up from 黄浦: the city corps leader
    # The approval is not made yet: both branches, with their conditions in words, each to its end.
    yes, other = steps[2].branches
    assert yes.condition == "若 审批通过" and [s.step for s in yes.steps] == ["archive", "end"]
    assert other.condition == "其他情况" and [s.kind for s in other.steps] == ["end"]
    page = page_text(login_as("hp_officer").get(f"/inbox/instances/{inst}"))
    assert "流程预测" in page and "二审" in page


def test_prediction_parallel_branches_and_conditions(app, login_as):
    xml = bpmn_builder.parallel(
        "pr_par",
        [("a", "分支甲", {"assignee": "users:hp_leader"}), ("b", "分支乙", {"assignee": "role:district_leader"})],
    )
    deploy(app, "pr_par", xml=xml)
    inst = start(app, login_as("hp_officer"), "pr_par")
    with app.app_context():
        from app.engine.predict import predict

        steps = predict(db.session.get(ProcessInstance, inst))
        names = {s.step: s.people for s in steps if s.kind == "task"}
    assert set(names) == {"a", "b", "archive"}
    assert [s.step for s in steps if s.kind == "end"] == ["end"]  # the branches merge: one way to the end
    assert names["b"] == ["黄浦区·大队领导"] or names["b"][0].endswith("大队领导")
    # Nothing was saved: the real instance still waits on both branches.
    assert sorted(r["step"] for r in rows(app, status="open")) == ["a", "b"]
