"""A clue from registration to the signed investigation report through the JSON API alone: external
systems with service-account tokens for each role (registrar, brigade leader, city officer, section
chief), the same process, rules and documents as the pages."""

from __future__ import annotations

import pytest

from tests.api_helpers import Bearer, issue_token
from tests.test_clue_process import CONTENT, HAZARDS, clue_process, credit, fast_pdf  # noqa: F401  (fixtures)


def _task(api: Bearer, instance_id: int, step: str) -> dict:
    items = api.get("/api/v1/tasks").get_json()["items"]
    found = [t for t in items if t["instance"]["id"] == instance_id and t["step"] == step]
    assert len(found) == 1, [(t["instance"]["id"], t["step"]) for t in items]
    return found[0]


def _act(api: Bearer, task_id: int, action: str, *, comment: str | None = None, **data) -> dict:
    resp = api.post(f"/api/v1/tasks/{task_id}/complete", json={"action": action, "data": data, "comment": comment})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


@pytest.mark.usefixtures("clue_process", "fast_pdf")
def test_clue_to_signed_report_through_the_api(app):
    registrar = Bearer(app, issue_token(app, "svc_reg", org="310101", roles=["district_officer"]))
    brigade = Bearer(app, issue_token(app, "svc_hpl", org="310101", roles=["district_leader"]))
    city = Bearer(app, issue_token(app, "svc_city", org="SHYJ-ZH", roles=["city_officer"]))
    chief = Bearer(app, issue_token(app, "svc_chief", org="SHYJ-ZH", roles=["section_chief"]))
    outsider = Bearer(app, issue_token(app, "svc_xh", org="310104", roles=["district_officer"]))

    form = registrar.get("/api/v1/clues/register-form").get_json()
    assert {"const": "310101", "title": form["schema"]["properties"]["district"]["oneOf"][0]["title"]} in form[
        "schema"
    ]["properties"]["district"]["oneOf"]
    data = {
        "source": "report",
        "enterprise": credit(app, "上海申江化工贸易有限公司"),
        "content": CONTENT,
        "reporter_name": "张三丰",
        "reporter_phone": "13812345678",
    }
    invalid = registrar.post("/api/v1/clues", json={"data": {**data, "source": "rumour"}})
    assert invalid.status_code == 422 and "source" in invalid.get_json()["errors"]
    made = registrar.post("/api/v1/clues", json={"data": data})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    clue_id, instance_id = body["clue"]["id"], body["instance"]["id"]
    assert body["message"] == f"线索已登记：{body['clue']['number']}，已提交受理审批"
    assert body["clue"]["status"] == "accepting"
    assert [(t["step"], t["candidate_role_name"]) for t in body["tasks"]] == [("accept", "大队领导")]
    assert "13812345678" not in made.get_data(as_text=True)  # the reporter stays encrypted and masked

    duplicate = registrar.post("/api/v1/clues", json={"data": {**data, "content": CONTENT.replace("夜间", "晚上")}})
    assert duplicate.status_code == 422
    assert body["clue"]["number"] in duplicate.get_json()["errors"]["confirm_duplicate"]
    assert outsider.get(f"/api/v1/clues/{clue_id}").status_code == 404  # confidential while open

    _act(brigade, _task(brigade, instance_id, "accept")["id"], "approve", comment="同意受理")
    judge = _task(city, instance_id, "judge")
    missing = city.post(f"/api/v1/tasks/{judge['id']}/complete", json={"action": "complete", "data": {}})
    assert missing.status_code == 422 and set(missing.get_json()["errors"]) >= {"verifiable", "risk_level"}
    _act(city, judge["id"], "complete", verifiable="yes", risk_level="high", judge_opinion="反映内容具体，具备核查条件")
    clue = city.get(f"/api/v1/clues/{clue_id}").get_json()
    assert clue["status"] == "dispatching" and clue["priority"] == "urgent"
    assert [d["kind"] for d in clue["documents"]] == ["investigation_order"]
    _act(city, _task(city, instance_id, "dispatch")["id"], "complete", handle_org="310101", dispatch_note="请尽快核查")
    _act(
        registrar,
        _task(registrar, instance_id, "handle")["id"],
        "complete",
        investigators="张伟、刘芳",
        investigated_on="2026-11-20",
        findings="经现场核查，该企业 2 号仓库超量储存乙醇约 3.2 吨，夜间装卸未设警戒。",
        hazards=HAZARDS,
        measures="责令立即停止违规装卸，限期转移超量物料，依法立案调查。",
    )
    _act(
        brigade,
        _task(brigade, instance_id, "feedback")["id"],
        "complete",
        verdict="substantiated",
        conclusion="线索反映问题属实，已责令整改并立案查处。",
    )
    review = _task(chief, instance_id, "review")
    detail = chief.get(f"/api/v1/tasks/{review['id']}").get_json()
    assert [b[1] for b in detail["buttons"]][:2] == ["通过并签发", "退回修改"]
    signed = _act(chief, review["id"], "approve", comment="同意调查结论，请跟踪整改")
    assert signed["status"] == "completed" and signed["message"] == "已审批通过"
    from app.reports import jobs

    assert jobs.wait_for_jobs(60)  # the signed original is rendered by the job worker after the commit

    clue = registrar.get(f"/api/v1/clues/{clue_id}").get_json()
    assert clue["status"] == "closed" and clue["outcome"] == "substantiated"
    report = next(d for d in clue["documents"] if d["kind"] == "investigation_report")
    assert report["status"] == "signed" and report["signer_name"] == "服务账号svc_chief" and len(report["sm3"]) == 64
    assert report["number"].startswith("沪应急执〔")
    instance = registrar.get(f"/api/v1/instances/{instance_id}").get_json()
    assert instance["status"] == "completed" and instance["tasks"] == []
    kinds = [e["kind"] for e in registrar.get(f"/api/v1/instances/{instance_id}/history").get_json()["items"]]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("approve") == 2
    diagram = registrar.get(f"/api/v1/instances/{instance_id}/diagram").get_json()
    assert {"accept", "judge", "dispatch", "handle", "feedback", "review"} <= set(diagram["done"])
    assert outsider.get(f"/api/v1/clues/{clue_id}").status_code == 200  # closed: every enforcement unit sees it
