"""The JSON API with browser sessions: processes and starting, tasks and every act, instances, errors."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.engine.models import ProcessInstance
from app.extensions import db
from app.inbox.acts import MESSAGES
from app.inbox.models import Attachment, CarbonCopy, HumanTask
from tests.api_helpers import deploy_flow, open_rows
from tests.conftest import user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def flow(app, client_for):
    """hp_officer started api_flow through the API; returns (client, fill task id, instance id)."""
    with app.app_context():
        deploy_flow()
    officer = client_for("hp_officer")
    resp = officer.post("/api/v1/processes/api_flow/instances", json={"data": {"subject": "接口测试"}})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    [task] = body["tasks"]
    return officer, task["id"], body["instance"]["id"]


def submit(client, task_id, **data):
    resp = client.post(f"/api/v1/tasks/{task_id}/complete", json={"action": "complete", "data": data})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def node_row(app, instance_id) -> int:
    [row] = [r for r in open_rows(app, instance_id) if r.step == "node"]
    return row.id


# ---------------------------------------------------------------------------------------------
# processes


def test_startable_processes_with_start_forms_and_start(app, client_for):
    with app.app_context():
        deploy_flow()
        deploy_flow("leaders_only", start_roles="city_leader")
    officer = client_for("hp_officer")
    listed = officer.get("/api/v1/processes").get_json()["items"]
    assert [p["process_id"] for p in listed] == ["api_flow"]  # leaders_only is not the officer's to start
    assert listed[0]["start_form"]["properties"]["subject"]["title"] == "事项"
    assert officer.get("/api/v1/processes/api_flow").get_json()["name"] == "测试流程"
    assert officer.get("/api/v1/processes/leaders_only").status_code == 404
    assert officer.post("/api/v1/processes/leaders_only/instances", json={"data": {}}).status_code == 404
    assert client_for("leader").get("/api/v1/processes/leaders_only").status_code == 200

    bad = officer.post("/api/v1/processes/api_flow/instances", json={"data": {"subject": "x", "amount": "多"}})
    assert bad.status_code == 422
    assert bad.get_json() == {
        "code": "invalid",
        "message": "表单填写有误，请按提示修改",
        "errors": {"amount": "金额请输入数字"},
    }
    missing = officer.post("/api/v1/processes/api_flow/instances", json={"data": {}})
    assert missing.status_code == 422 and "subject" in missing.get_json()["errors"]
    unknown = officer.post("/api/v1/processes/api_flow/instances", json={"data": {"subject": "x"}, "title": "y"})
    assert unknown.status_code == 422 and unknown.get_json()["errors"] == {"title": "不支持的字段"}
    with app.app_context():
        assert db.session.scalar(select(db.func.count(ProcessInstance.id))) == 0  # nothing half-started

    started = officer.post("/api/v1/processes/api_flow/instances", json={"data": {"subject": "接口测试", "amount": 5}})
    assert started.status_code == 201
    body = started.get_json()
    assert body["message"].startswith("已发起：接口测试（T")
    assert body["instance"]["title"] == "接口测试" and body["instance"]["status"] == "running"
    assert body["instance"]["initiator_name"] == "黄浦队员" and body["instance"]["current_steps"] == ["填写"]
    amount = next(d for d in body["instance"]["data"] if d["key"] == "amount")
    assert amount["value"] == 5 and amount["label"] != "amount"  # the form's title for the field
    assert [(t["step"], t["mine"]) for t in body["tasks"]] == [("fill", True)]


# ---------------------------------------------------------------------------------------------
# tasks


def test_task_list_detail_complete_and_conflict(app, flow, client_for):
    officer, fill_id, _inst = flow
    listed = officer.get("/api/v1/tasks").get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == fill_id
    assert listed["items"][0]["instance"]["title"] == "接口测试"
    detail = officer.get(f"/api/v1/tasks/{fill_id}").get_json()
    assert detail["can_act"] is True and detail["fields"][0]["name"] == "subject"
    assert ["complete", "提交"] in detail["buttons"]
    bad = officer.post(f"/api/v1/tasks/{fill_id}/complete", json={"action": "complete", "data": {"amount": "x"}})
    assert bad.status_code == 422 and bad.get_json()["errors"]["amount"] == "金额请输入数字"
    unknown = officer.post(f"/api/v1/tasks/{fill_id}/complete", json={"action": "explode"})
    assert unknown.status_code == 422 and "action" in unknown.get_json()["errors"]
    approve_on_task = officer.post(f"/api/v1/tasks/{fill_id}/complete", json={"action": "approve"})
    assert approve_on_task.status_code == 422 and approve_on_task.get_json()["message"] == "该任务不是审批任务"
    ok = submit(officer, fill_id, subject="接口")
    assert ok == {"ok": True, "message": "已提交", "task": fill_id, "instance": ok["instance"], "status": "running"}
    again = officer.post(f"/api/v1/tasks/{fill_id}/complete", json={"action": "complete", "data": {"subject": "x"}})
    assert again.status_code == 409 and "请勿重复提交" in again.get_json()["message"]
    assert officer.get("/api/v1/tasks?tab=done").get_json()["items"][0]["id"] == fill_id
    assert officer.get("/api/v1/counts").get_json() == {"todo": 0, "cc_unread": 0}


def test_approve_reject_return_claim_release(app, flow, client_for):
    officer, fill_id, inst = flow
    submit(officer, fill_id, subject="接口")
    leader = client_for("hp_leader")
    [task] = leader.get("/api/v1/tasks").get_json()["items"]
    assert task["candidate_role"] == "district_leader"
    assert client_for("xh_leader").get(f"/api/v1/tasks/{task['id']}").status_code == 404  # outside the scope
    claimed = leader.post(f"/api/v1/tasks/{task['id']}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["message"] == MESSAGES["claim"]
    assert leader.post(f"/api/v1/tasks/{task['id']}/claim").get_json()["message"] == "您已认领该任务"
    released = leader.post(f"/api/v1/tasks/{task['id']}/release")
    assert released.get_json()["message"] == "已释放，任务回到角色待办"
    assert leader.post(f"/api/v1/tasks/{task['id']}/release").status_code == 409
    detail = leader.get(f"/api/v1/tasks/{task['id']}").get_json()
    assert ("fill", "填写") in [(t["step"], t["name"]) for t in detail["return_targets"]]
    missing = leader.post(f"/api/v1/tasks/{task['id']}/return", json={"target": "fill"})
    assert missing.status_code == 422 and missing.get_json()["errors"]["comment"] == "必填项"
    wrong = leader.post(f"/api/v1/tasks/{task['id']}/return", json={"target": "nowhere", "comment": "补充"})
    assert wrong.status_code == 422 and wrong.get_json()["errors"] == {"target": "退回目标无效"}
    back = leader.post(f"/api/v1/tasks/{task['id']}/return", json={"target": "fill", "comment": "补充材料"})
    assert back.get_json()["message"] == "已退回"
    [fill_again] = open_rows(app, inst)
    assert fill_again.step == "fill" and fill_again.assignee_id is not None
    submit(officer, fill_again.id, subject="已补充")
    node = node_row(app, inst)
    no_reason = leader.post(f"/api/v1/tasks/{node}/complete", json={"action": "reject"})
    assert no_reason.status_code in (200, 422)  # whether a reason is required is the node's setting
    if no_reason.status_code == 200:
        assert no_reason.get_json()["message"] == "已拒绝"
        with app.app_context():
            assert db.session.get(ProcessInstance, inst).status == "rejected"  # ended at end_rejected: 已拒绝


def test_approve_moves_on(app, flow, client_for):
    officer, fill_id, inst = flow
    submit(officer, fill_id, subject="接口")
    leader = client_for("hp_leader")
    node = node_row(app, inst)
    ok = leader.post(f"/api/v1/tasks/{node}/complete", json={"action": "approve", "comment": "同意"})
    assert ok.status_code == 200 and ok.get_json()["message"] == "已审批通过"
    assert [r.step for r in open_rows(app, inst)] == ["archive"]


def test_transfer_delegate_add_and_remove_sign(app, flow, client_for):
    officer, fill_id, inst = flow
    submit(officer, fill_id, subject="接口")
    leader = client_for("hp_leader")
    node = node_row(app, inst)
    self_transfer = leader.post(f"/api/v1/tasks/{node}/transfer", json={"user": "hp_leader"})
    assert self_transfer.status_code == 422 and self_transfer.get_json()["message"] == "不能转办给自己"
    nobody = leader.post(f"/api/v1/tasks/{node}/transfer", json={"user": "ghost"})
    assert nobody.status_code == 422 and nobody.get_json()["errors"] == {"user": "人员无效"}
    moved = leader.post(f"/api/v1/tasks/{node}/transfer", json={"user": "leader", "comment": "请市局审"})
    assert moved.get_json()["message"] == "已转办"
    city = client_for("leader")
    node = node_row(app, inst)
    assert city.get(f"/api/v1/tasks/{node}").get_json()["can_act"] is True
    delegated = city.post(f"/api/v1/tasks/{node}/delegate", json={"user": "chief", "comment": "请核实"})
    assert delegated.get_json()["message"] == MESSAGES["delegate"]
    [helper_row] = [r for r in open_rows(app, inst) if r.status == "open"]
    submit(client_for("chief"), helper_row.id, subject="已核实")
    [back] = [r for r in open_rows(app, inst) if r.status == "open"]
    assert back.assignee_id == _uid(app, "leader")
    added = city.post(f"/api/v1/tasks/{back.id}/add-sign", json={"users": ["chief", "city_officer"], "mode": "after"})
    assert added.get_json()["message"] == "已加签"
    again = city.post(f"/api/v1/tasks/{back.id}/add-sign", json={"users": ["chief"]})
    assert again.status_code == 422 and again.get_json()["message"] == "所选人员已在本节点审批人中"
    bad_mode = city.post(f"/api/v1/tasks/{back.id}/add-sign", json={"users": ["auditor"], "mode": "sideways"})
    assert bad_mode.status_code == 422 and "mode" in bad_mode.get_json()["errors"]
    empty = city.post(f"/api/v1/tasks/{back.id}/add-sign", json={"users": []})
    assert empty.status_code == 422 and empty.get_json()["errors"]["users"] == "请选择 1 到 50 人"
    officer_row = next(r for r in open_rows(app, inst) if r.assignee_id == _uid(app, "city_officer"))
    not_mine = client_for("chief").post(f"/api/v1/tasks/{officer_row.id}/remove-sign", json={})
    assert not_mine.status_code == 403 and not_mine.get_json()["message"] == "只有加签人可以减签"
    removed = city.post(f"/api/v1/tasks/{officer_row.id}/remove-sign", json={"comment": "不必了"})
    assert removed.get_json()["message"] == "已减签"
    with app.app_context():
        assert db.session.get(HumanTask, officer_row.id).status == "cancelled"


def _uid(app, login):
    with app.app_context():
        return user(login).id


def test_cc_urge_and_draft(app, flow, client_for):
    officer, fill_id, inst = flow
    drafted = officer.post(f"/api/v1/tasks/{fill_id}/draft", json={"data": {"subject": "草稿", "amount": "12"}})
    assert drafted.get_json()["message"] == "已暂存"
    with app.app_context():
        assert db.session.get(HumanTask, fill_id).draft == {"subject": "草稿", "amount": 12}
    assert officer.get(f"/api/v1/tasks/{fill_id}").get_json()["fields"][0]["value"] == "草稿"
    copied = officer.post(f"/api/v1/tasks/{fill_id}/cc", json={"users": ["hp_leader"], "comment": "请知悉"})
    assert copied.get_json()["message"] == "已抄送"
    with app.app_context():
        assert db.session.scalar(select(CarbonCopy.user_id).where(CarbonCopy.instance_id == inst)) == _uid(
            app, "hp_leader"
        )
    assert client_for("hp_leader").get("/api/v1/counts").get_json()["cc_unread"] == 1
    submit(officer, fill_id, subject="接口")
    node = node_row(app, inst)
    urged = officer.post(f"/api/v1/tasks/{node}/urge", json={"comment": "请尽快"})
    assert urged.status_code == 200 and urged.get_json()["message"] == "已催办 1 人"
    too_soon = officer.post(f"/api/v1/tasks/{node}/urge", json={})
    assert too_soon.status_code == 409 and too_soon.get_json()["message"] == "您刚刚已催办过，请 30 分钟后再试"
    outsider = client_for("xh_officer").post(f"/api/v1/tasks/{node}/urge", json={})
    assert outsider.status_code == 404


# ---------------------------------------------------------------------------------------------
# instances


def test_instance_history_diagram_prediction(app, flow, client_for):
    officer, fill_id, inst = flow
    submit(officer, fill_id, subject="接口")
    got = officer.get(f"/api/v1/instances/{inst}").get_json()
    assert got["status_label"] == "进行中" and got["number"].startswith("T")
    assert [(t["step_name"], t["candidate_role_name"], t["mine"]) for t in got["tasks"]] == [
        ("审批", "大队领导", False)
    ]
    diagram = officer.get(f"/api/v1/instances/{inst}/diagram").get_json()
    assert "fill" in diagram["done"] and "node" in diagram["current"] and "<bpmn" in diagram["xml"]
    steps = officer.get(f"/api/v1/instances/{inst}/prediction").get_json()["items"]
    assert steps[0]["step"] == "node" and steps[0]["current"] is True
    branched = [s for b in steps[-1]["branches"] for s in b["steps"]]  # the decision is not yet entered
    assert steps[-1]["kind"] == "branch" and "archive" in [s["step"] for s in branched]
    kinds = [e["kind"] for e in officer.get(f"/api/v1/instances/{inst}/history").get_json()["items"]]
    assert kinds[:2] == ["start", "complete"]
    assert client_for("xh_officer").get(f"/api/v1/instances/{inst}").status_code == 404


def test_withdraw_and_terminate(app, flow, client_for):
    officer, fill_id, inst = flow
    submit(officer, fill_id, subject="接口")
    assert client_for("hp_leader").post(f"/api/v1/instances/{inst}/withdraw").status_code == 403
    took = officer.post(f"/api/v1/instances/{inst}/withdraw")
    assert took.status_code == 200 and took.get_json()["message"] == "已撤回"
    assert [r.step for r in open_rows(app, inst)] == ["fill"]
    no_reason = officer.post(f"/api/v1/instances/{inst}/terminate", json={})
    assert no_reason.status_code == 422 and no_reason.get_json()["errors"] == {"reason": "必填项"}
    blank = officer.post(f"/api/v1/instances/{inst}/terminate", json={"reason": "  "})
    assert blank.status_code == 422 and blank.get_json()["message"] == "请填写终止原因"
    other = client_for("hp_leader").post(f"/api/v1/instances/{inst}/terminate", json={"reason": "不需要"})
    assert other.status_code == 403 and other.get_json()["message"] == "首个审批之前只有发起人或流程管理员可以终止流程"
    done = officer.post(f"/api/v1/instances/{inst}/terminate", json={"reason": "不再需要"})
    assert done.get_json() == {"ok": True, "message": "流程已终止", "instance": inst, "status": "terminated"}
    assert officer.post(f"/api/v1/instances/{inst}/withdraw").status_code == 409


def test_comments_attachments_and_instance_cc(app, flow, client_for, tmp_path):
    officer, _fill, inst = flow
    assert officer.post(f"/api/v1/instances/{inst}/comments", json={"body": ""}).status_code == 422
    made = officer.post(f"/api/v1/instances/{inst}/comments", json={"body": "已补充材料"})
    assert made.status_code == 201 and made.get_json()["author_name"] == "黄浦队员"
    items = officer.get(f"/api/v1/instances/{inst}/comments").get_json()["items"]
    assert [c["body"] for c in items] == ["已补充材料"]
    no_file = officer.post(f"/api/v1/instances/{inst}/attachments", data={}, content_type="multipart/form-data")
    assert no_file.status_code == 422 and no_file.get_json()["errors"] == {"file": "请选择文件"}
    exe = officer.post(
        f"/api/v1/instances/{inst}/attachments",
        data={"file": (io.BytesIO(b"MZ\x90\x00" * 20), "a.exe")},
        content_type="multipart/form-data",
    )
    assert exe.status_code == 422 and "不支持的文件类型" in exe.get_json()["message"]
    up = officer.post(
        f"/api/v1/instances/{inst}/attachments",
        data={"file": (io.BytesIO(PNG), "现场.png")},
        content_type="multipart/form-data",
    )
    assert up.status_code == 201
    att = up.get_json()
    assert att["filename"] == "现场.png" and att["content_type"] == "image/png" and len(att["sm3"]) == 64
    assert [a["id"] for a in officer.get(f"/api/v1/instances/{inst}/attachments").get_json()["items"]] == [att["id"]]
    down = officer.get(f"/api/v1/attachments/{att['id']}")
    assert down.status_code == 200 and down.data == PNG and down.mimetype == "image/png"
    down.close()
    assert client_for("xh_officer").get(f"/api/v1/attachments/{att['id']}").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Attachment.id))) == 1
    copied = officer.post(f"/api/v1/instances/{inst}/cc", json={"users": ["chief"]})
    assert copied.get_json()["message"] == "已抄送"


# ---------------------------------------------------------------------------------------------
# errors and the document


def test_errors_are_one_json_shape(app, client, client_for, flow):
    _officer, _fill, inst = flow
    anonymous = client.get("/api/v1/tasks")
    assert anonymous.status_code == 401 and anonymous.get_json() == {
        "code": "unauthorized",
        "message": "请先登录",
        "errors": {},
    }
    officer = client_for("hp_officer")
    for resp, status in (
        (officer.get("/api/v1/nothing-here"), 404),
        (officer.get("/api/v1/tasks/999999"), 404),
        (officer.put("/api/v1/tasks"), 405),
        (client_for("auditor").get("/api/v1/tasks"), 403),
        (officer.post(f"/api/v1/instances/{inst}/comments", data="{x", content_type="application/json"), 400),
        (officer.post(f"/api/v1/instances/{inst}/comments", json=[1, 2]), 400),
    ):
        assert resp.status_code == status, resp.get_data(as_text=True)
        assert resp.mimetype == "application/json"
        body = resp.get_json()
        assert set(body) == {"code", "message", "errors"} and body["message"]
        assert not any(ch.isascii() and ch.isalpha() for ch in body["message"][:2])  # Chinese, not English
    bad_json = officer.post(f"/api/v1/instances/{inst}/comments", data="{x", content_type="application/json")
    assert bad_json.get_json()["message"] == "请求体不是有效的 JSON"


def test_openapi_document_needs_login_and_describes_every_path(app, client, client_for):
    assert client.get("/api/v1/openapi.json").status_code == 401
    doc = client_for("hp_officer").get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.") and doc["servers"] == [{"url": "/api/v1", "description": "本系统"}]
    rules = {
        r.rule[len("/api/v1") :].replace("<int:", "{").replace("<", "{").replace(">", "}")
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/v1/") and r.endpoint != "api.openapi"
    }
    assert set(doc["paths"]) == rules and len(rules) >= 30
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert any("\u4e00" <= ch <= "\u9fff" for ch in op["summary"]), (method, path)
            assert "401" in op["responses"] and "403" in op["responses"] and op["operationId"]
            ok = [c for c in op["responses"] if c.startswith("2")]
            assert ok, (method, path)
            if method == "post":
                assert {"400", "409", "422"} <= set(op["responses"])
    assert doc["components"]["schemas"]["ErrorSchema"]["properties"].keys() == {"code", "message", "errors"}
    assert "CompleteInput" in doc["components"]["schemas"]
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "session"}
    page = client_for("hp_officer").get("/api-docs")
    assert page.status_code == 200 and b"dist/api-docs.js" in page.data
    assert b"//cdn" not in page.data and b"unpkg" not in page.data
