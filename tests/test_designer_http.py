"""The designer pages and JSON endpoints: process admins only, Chinese problems, drafts, deploy, import."""

from __future__ import annotations

import io
import json
import re

import pytest

from app.designer import templates
from app.designer.compile import to_bpmn
from app.extensions import db
from tests.conftest import DATA, deploy_test_process, page_text

JSON = {"Accept": "application/json"}


def config_of(resp) -> dict:
    match = re.search(r'data-config="([^"]*)"', resp.get_data(as_text=True))
    assert match, "editor page without data-config"
    import html

    return json.loads(html.unescape(match.group(1)))


def two_level(pid="http_two"):
    tree = templates.template_tree("two_level")
    tree["process"]["id"] = pid
    return tree


@pytest.fixture
def admin(login_as):
    return login_as("procadmin")


def test_pages_and_endpoints_refuse_non_admins(login_as):
    officer = login_as("hp_officer")
    for url in ("/admin/designer/", "/admin/designer/new?template=blank", "/admin/designer/edit/x"):
        assert officer.get(url).status_code == 403
    for endpoint in ("compile", "validate", "save", "deploy", "modeler"):
        resp = officer.post(f"/admin/designer/api/{endpoint}", json={"tree": two_level()}, headers=JSON)
        assert resp.status_code == 403
        assert resp.get_json()["message"] == "您没有权限执行此操作"
    assert officer.post("/admin/designer/import", data={}).status_code == 403


def test_index_lists_templates_and_processes(app, admin):
    with app.app_context():
        deploy_test_process("timer_short")
    text = page_text(admin.get("/admin/designer/"))
    for name in ("二级审批", "区级→市级审批", "派单与反馈", "空白审批"):
        assert name in text
    assert "timer_short" in text and "边界事件" in text  # listed, with the reason it does not open


def test_new_from_template_renders_the_tree(admin):
    resp = admin.get("/admin/designer/new?template=dispatch_feedback")
    assert resp.status_code == 200
    config = config_of(resp)
    assert config["new"] is True
    assert [n["id"] for n in config["tree"]["nodes"]] == ["review_dispatch", "handle", "check_feedback"]
    assert "simple_dispatch.schema.json" in config["catalog"]["forms"]
    assert {"code": "city_officer", "name": "总队执法人员"} in config["catalog"]["roles"]
    assert 'src="/static/dist/designer.js"' in resp.get_data(as_text=True)
    assert admin.get("/admin/designer/new?template=nope").status_code == 422


def test_validate_reports_problems_in_chinese(admin):
    tree = two_level()
    tree["nodes"][0]["props"]["assignee"] = ""
    tree["nodes"].append(
        {
            "id": "c1",
            "type": "condition",
            "branches": [
                {"id": "b1", "name": "条件1", "condition": {"expression": "amount >"}, "nodes": []},
                {"id": "b2", "name": "其他情况", "condition": None, "nodes": []},
            ],
        }
    )
    body = admin.post("/admin/designer/api/validate", json={"tree": tree}, headers=JSON).get_json()
    assert body["ok"] is False and body["errors"] >= 1
    messages = {p["node_id"]: p["message"] for p in body["problems"]}
    assert "还没有设置审批人" in messages["approve_first"]
    tree["nodes"][0]["props"]["assignee"] = "leader"
    body = admin.post("/admin/designer/api/validate", json={"tree": tree}, headers=JSON).get_json()
    problems = [p for p in body["problems"] if p["severity"] == "error"]
    assert problems and problems[0]["node_id"] == "b1" and "条件表达式" in problems[0]["message"]
    assert admin.post("/admin/designer/api/validate", json={"nope": 1}, headers=JSON).status_code == 422


def test_compile_returns_bpmn(admin):
    body = admin.post("/admin/designer/api/compile", json={"tree": two_level()}, headers=JSON).get_json()
    assert body["ok"] and body["bpmn"].startswith("<?xml") and 'id="approve_second"' in body["bpmn"]


def test_save_draft_then_open_and_deploy(app, admin, login_as):
    tree = two_level("http_flow")
    resp = admin.post("/admin/designer/api/save", json={"tree": tree, "new": True}, headers=JSON)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["edit_url"] == "/admin/designer/edit/http_flow"
    # A second "new" process with the same id is refused; saving the existing one is fine.
    again = admin.post("/admin/designer/api/save", json={"tree": tree, "new": True}, headers=JSON)
    assert again.status_code == 409 and "已被其他流程使用" in again.get_json()["message"]
    assert admin.post("/admin/designer/api/save", json={"tree": tree, "new": False}, headers=JSON).status_code == 200

    opened = admin.get("/admin/designer/edit/http_flow")
    assert opened.status_code == 200 and "草稿" in page_text(opened)
    assert config_of(opened)["tree"] == tree
    assert admin.get("/admin/designer/edit/http_flow/tree").get_json()["tree"] == tree

    resp = admin.post("/admin/designer/api/deploy", json={"tree": tree, "new": False, "comment": "首版"}, headers=JSON)
    body = resp.get_json()
    assert resp.status_code == 200 and body["version"] == 1 and "已部署" in body["message"]
    assert body["start_url"] == "/inbox/start/http_flow"
    with app.app_context():
        from app.processes.models import ProcessDraft

        assert db.session.query(ProcessDraft).filter_by(process_id="http_flow").count() == 0  # drafts dropped
    same = admin.post("/admin/designer/api/deploy", json={"tree": tree}, headers=JSON)
    assert same.status_code == 409 and "无需部署" in same.get_json()["message"]
    # The deployed process opens again as the same tree, and people can start it.
    assert admin.get("/admin/designer/edit/http_flow/tree").get_json()["tree"] == tree
    assert login_as("hp_officer").get("/inbox/start/http_flow").status_code == 200


def test_deploy_with_errors_is_422_with_problems(admin):
    tree = two_level("http_bad")
    tree["nodes"][1]["props"]["assignee"] = "role:no_such_role"
    resp = admin.post("/admin/designer/api/deploy", json={"tree": tree, "new": True}, headers=JSON)
    assert resp.status_code == 422
    body = resp.get_json()
    assert "流程设计有" in body["message"]
    assert any("no_such_role" in p["message"] and p["node_id"] == "approve_second" for p in body["problems"])


def test_process_outside_the_subset_says_why_and_links_the_modeler(app, admin):
    with app.app_context():
        deploy_test_process("timer_short")
    resp = admin.get("/admin/designer/edit/timer_short")
    assert resp.status_code == 422
    text = page_text(resp)
    assert "元素「late」" in text and "边界事件" in text
    assert "/admin/processes/timer_short/edit" in resp.get_data(as_text=True)
    assert admin.get("/admin/designer/edit/none_such").status_code == 404


def test_import_bpmn_file(admin):
    fits = to_bpmn(two_level("imported"))
    resp = admin.post(
        "/admin/designer/import",
        data={"file": (io.BytesIO(fits.encode()), "imported.bpmn")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200
    config = config_of(resp)
    assert config["tree"] == two_level("imported") and config["new"] is True
    outside = (DATA / "workflows" / "timer_short.bpmn").read_bytes()
    resp = admin.post(
        "/admin/designer/import",
        data={"file": (io.BytesIO(outside), "timer_short.bpmn")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and "元素「late」" in page_text(resp)


def test_open_in_modeler_saves_the_draft_there(admin):
    body = admin.post(
        "/admin/designer/api/modeler", json={"tree": two_level("to_modeler"), "new": True}, headers=JSON
    ).get_json()
    assert body["ok"] and body["url"] == "/admin/processes/to_modeler/edit"
    page = admin.get(body["url"])
    assert page.status_code == 200 and "to_modeler" in page_text(page)
    # The modeler's draft is what the designer opens next.
    assert admin.get("/admin/designer/edit/to_modeler/tree").get_json()["tree"] == two_level("to_modeler")


def test_nav_shows_the_designer_to_process_admins_only(admin, login_as):
    assert 'href="/admin/designer/"' in admin.get("/").get_data(as_text=True)
    assert 'href="/admin/designer/"' not in login_as("hp_officer").get("/").get_data(as_text=True)
