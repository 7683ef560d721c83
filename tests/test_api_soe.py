"""监管指导建议 over /api/v1: the threads in the caller's scope (the corps all, a group its own, another group
nothing), a thread with its messages and read receipts, and replies: the group's feedback, the corps' return and
close, each the caller's open step of the soe_guidance process; bad input and a reply out of turn in Chinese."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.engine.runtime import SHANGHAI
from app.extensions import db
from app.soe.models import Guidance
from tests.api_helpers import Bearer, issue_token
from tests.test_soe import _org, deploy_guidance


def _thread(app, client_for) -> int:
    with app.app_context():
        deploy_guidance(app)
        group_id = _org("SOE-JS").id
        db.session.commit()
    deadline = (datetime.now(SHANGHAI).date() + timedelta(days=7)).isoformat()
    resp = client_for("chief").post(
        "/soe/guidance",
        data={
            "group_id": group_id,
            "title": "加强有限空间作业管理",
            "body": "请集团开展有限空间作业专项排查。",
            "deadline": deadline,
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        return db.session.scalar(select(Guidance.id))


def test_guidance_threads_list_read_and_reply(app, client_for):
    gid = _thread(app, client_for)
    group = Bearer(app, issue_token(app, "svc_js", org="SOE-JS", roles=["soe_officer"]))
    corps = Bearer(app, issue_token(app, "svc_corps", org="SHYJ-ZH", roles=["section_chief"]))
    other = Bearer(app, issue_token(app, "svc_ct", org="SOE-CT", roles=["soe_officer"]))
    listed = group.get("/api/v1/soe/guidance").get_json()
    assert [(g["id"], g["status"], g["group_name"]) for g in listed["items"]] == [
        (gid, "open", "上海久事（集团）有限公司")
    ]
    assert other.get("/api/v1/soe/guidance").get_json()["total"] == 0  # another group sees nothing
    assert other.get(f"/api/v1/soe/guidance/{gid}").status_code == 404
    assert corps.get("/api/v1/soe/guidance", query_string={"status": "closed"}).get_json()["total"] == 0
    bad = corps.get("/api/v1/soe/guidance", query_string={"status": "done"})
    assert bad.status_code == 422 and bad.get_json()["errors"]["status"].startswith("应为 open")
    thread = group.get(f"/api/v1/soe/guidance/{gid}").get_json()
    assert [m["kind"] for m in thread["messages"]] == ["guidance"] and thread["my_step"] == "feedback"
    assert [r["user"] for r in thread["read_by_group"]] == ["服务账号svc_js"]  # reading is a read receipt
    # The corps cannot answer for the group; a too short reply is refused; nothing changes.
    assert corps.get(f"/api/v1/soe/guidance/{gid}").get_json()["my_step"] is None
    early = corps.post(f"/api/v1/soe/guidance/{gid}/reply", json={"body": "代为反馈"})
    assert early.status_code == 409 and "没有需要您回复的步骤" in early.get_json()["message"]
    short = group.post(f"/api/v1/soe/guidance/{gid}/reply", json={"body": "好"})
    assert short.status_code == 422 and short.get_json()["errors"] == {"body": "回复应为 2 到 4000 字"}
    # The group's feedback, the issuer's return (review is the issuer's step: another corps account cannot
    # answer it), the feedback again, the issuer closes (a browser session this time).
    chief = client_for("chief")
    answered = group.post(f"/api/v1/soe/guidance/{gid}/reply", json={"body": "已完成排查，发现 3 处问题。"})
    assert answered.status_code == 200, answered.get_json()["message"]
    assert answered.get_json()["thread"]["status"] == "answered"
    assert corps.post(f"/api/v1/soe/guidance/{gid}/reply", json={"body": "办结", "close": True}).status_code == 409
    returned = chief.post(f"/api/v1/soe/guidance/{gid}/reply", json={"body": "请补充整改时限", "close": False})
    assert returned.status_code == 200 and returned.get_json()["thread"]["status"] == "returned"
    group.post(f"/api/v1/soe/guidance/{gid}/reply", json={"body": "12 月 20 日前完成整改。"})
    closed = chief.post(f"/api/v1/soe/guidance/{gid}/reply", json={"body": "收悉，按期落实", "close": True})
    body = closed.get_json()["thread"]
    assert body["status"] == "closed" and body["my_step"] is None
    assert [m["kind"] for m in body["messages"]] == ["guidance", "feedback", "reply", "feedback", "reply"]
    assert body["messages"][2]["body"] == "请补充整改时限" and body["messages"][1]["author"] == "服务账号svc_js"
    late = group.post(f"/api/v1/soe/guidance/{gid}/reply", json={"body": "再补充一点"})
    assert late.status_code == 409
