"""The JSON API: list, show, claim, complete, send back, comment, and the OpenAPI document."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.inbox.models import HumanTask
from tests import bpmn_builder


@pytest.fixture
def flow(app, login_as):
    with app.app_context():
        bpmn_builder.deploy_xml(
            "api_flow",
            bpmn_builder.linear(
                "api_flow", [("node", "审批", {"candidateNote": "x", "assignee": "role:district_leader"})]
            ),
        )
    officer = login_as("hp_officer")
    resp = officer.post("/inbox/start/api_flow")
    task_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    return officer, task_id


def test_complete_through_api_and_errors_in_chinese(app, flow, login_as):
    officer, fill_id = flow
    listed = officer.get("/api/v1/tasks").get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == fill_id
    detail = officer.get(f"/api/v1/tasks/{fill_id}").get_json()
    assert detail["can_act"] is True and detail["fields"][0]["name"] == "subject"
    bad = officer.post(f"/api/v1/tasks/{fill_id}/complete", json={"action": "complete", "data": {"amount": "x"}})
    assert bad.status_code == 422
    body = bad.get_json()
    assert body["errors"]["amount"] == "金额请输入数字"
    unknown = officer.post(f"/api/v1/tasks/{fill_id}/complete", json={"action": "explode"})
    assert unknown.status_code == 422 and "action" in unknown.get_json()["errors"]
    ok = officer.post(f"/api/v1/tasks/{fill_id}/complete", json={"action": "complete", "data": {"subject": "接口"}})
    assert ok.status_code == 200 and ok.get_json()["status"] == "running"
    again = officer.post(f"/api/v1/tasks/{fill_id}/complete", json={"action": "complete", "data": {"subject": "x"}})
    assert again.status_code == 409 and "请勿重复提交" in again.get_json()["message"]


def test_claim_return_and_comment(app, flow, login_as):
    officer, fill_id = flow
    officer.post(f"/api/v1/tasks/{fill_id}/complete", json={"action": "complete", "data": {"subject": "接口"}})
    leader = login_as("hp_leader")
    [task] = leader.get("/api/v1/tasks").get_json()["items"]
    assert task["candidate_role"] == "district_leader"
    assert leader.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    assert leader.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 409
    assert login_as("xh_leader").get(f"/api/v1/tasks/{task['id']}").status_code == 404
    missing = leader.post(f"/api/v1/tasks/{task['id']}/return", json={"target": "fill"})
    assert missing.status_code == 422 and "comment" in missing.get_json()["errors"]
    assert (
        leader.post(f"/api/v1/tasks/{task['id']}/return", json={"target": "fill", "comment": "补充"}).status_code == 200
    )
    with app.app_context():
        inst = db.session.scalar(select(HumanTask.instance_id).where(HumanTask.id == task["id"]))
    assert officer.post(f"/api/v1/instances/{inst}/comments", json={"body": "已补充"}).status_code == 201
    kinds = [e["kind"] for e in officer.get(f"/api/v1/instances/{inst}/history").get_json()["items"]]
    assert kinds[:2] == ["start", "complete"] and "return" in kinds and kinds[-1] == "comment"


def test_openapi_document(login_as):
    doc = login_as("hp_officer").get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/tasks/{task_id}/complete" in doc["paths"]
    assert "CompleteInput" in doc["components"]["schemas"]


def test_api_requires_login(client):
    resp = client.get("/api/v1/tasks")
    assert resp.status_code in (302, 401)
