"""国有集团 (R2.5.3, R2.5.4): structure, inspection records, 典型隐患 / 典型违法行为 across groups, data
scope (a group sees its own only, a district none, the city all), and 监管指导建议 threads through the
inbox with read receipts, returns, reminders before and after the deadline, and Chinese messages."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.auth.services import create_user
from app.engine.runtime import SHANGHAI
from app.errors import PermissionDenied, ValidationFailed
from app.exchange.sources import soe as soe_source
from app.extensions import db
from app.inbox.models import HumanTask, Notification
from app.orgs.models import Organisation
from app.soe import guidance, records
from app.soe.models import Guidance, GuidanceMessage
from tests.conftest import TEST_PASSWORD, page_text, user

JS = [
    {
        "record_no": "JS-1",
        "unit_code": "SOE-JS-01",
        "inspected_on": "2026-10-08",
        "inspector": "王伟",
        "hazards": 2,
        "hazard_items": "消防通道堵塞；电气线路私拉乱接",
        "violation_items": "未按规定开展安全培训",
    },
    {
        "record_no": "JS-2",
        "unit_code": "SOE-JS-02",
        "inspected_on": "2026-11-02",
        "inspector": "王伟",
        "hazards": 1,
        "hazard_items": "消防通道堵塞",
        "findings": "二号库房",
    },
]
CT = [
    {
        "record_no": "CT-1",
        "unit_code": "SOE-CT-01",
        "inspected_on": "2026-11-05",
        "inspector": "李强",
        "hazards": 3,
        "hazard_items": "消防通道堵塞；有限空间作业未审批；电气线路私拉乱接",
        "violation_items": "未按规定开展安全培训；特种作业人员无证上岗",
    },
]


def _org(code: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.code == code))


@pytest.fixture
def soe_data(app):
    with app.app_context():
        create_user(
            login="soe_ct",
            name="城投安全经理",
            org=_org("SOE-CT"),
            password=TEST_PASSWORD,
            roles=["soe_officer"],
            is_leader=True,
            must_change_password=False,
        )
        db.session.flush()
        for login, rows in (("soe", JS), ("soe_ct", CT)):
            out = soe_source.submit(user(login), "soe_inspection", [dict(r) for r in rows], channel="api")
            assert out.ok, out.problems
        db.session.commit()


def test_structure_records_and_scope(app, soe_data, client_for):
    with app.app_context():
        # the city sees every group; a group its own; a member unit itself; a district nothing
        assert len(records.visible_groups(user("chief"))) >= 6
        assert [g.code for g in records.visible_groups(user("soe"))] == ["SOE-JS"]
        assert [g.code for g in records.visible_groups(user("hp_leader"))] == []
        f = records.Filters()
        assert {r.source_id for r in records.records(user("chief"), f)} == {"JS-1", "JS-2", "CT-1"}
        assert {r.source_id for r in records.records(user("soe"), f)} == {"JS-1", "JS-2"}
        assert {r.source_id for r in records.records(user("soe_unit"), f)} == {"JS-1"}  # SOE-JS-01 only
        assert records.records(user("hp_leader"), f) == []
        ct_id = db.session.scalar(select(Organisation.id).where(Organisation.code == "SOE-CT"))
        ct_record = next(r.id for r in records.records(user("chief"), f) if r.source_id == "CT-1")
        # filters: group, unit, dates, keyword
        f = records.Filters(group_id=ct_id)
        assert [r.source_id for r in records.records(user("chief"), f)] == ["CT-1"]
        assert records.records(user("soe"), f) == []  # another group's filter finds nothing for a group
        js01 = _org("SOE-JS-01").id
        assert [r.source_id for r in records.records(user("chief"), records.Filters(unit_id=js01))] == ["JS-1"]
        from datetime import date

        got = records.records(user("chief"), records.Filters(start=date(2026, 11, 1), end=date(2026, 11, 3)))
        assert [r.source_id for r in got] == ["JS-2"]
        assert [r.source_id for r in records.records(user("chief"), records.Filters(q="二号库房"))] == ["JS-2"]
        over = {o["group"].code: o for o in records.overview(user("chief"))}
        assert over["SOE-JS"]["records"] == 2 and over["SOE-JS"]["hazards"] == 3 and over["SOE-CT"]["violations"] == 2
        assert [o["group"].code for o in records.overview(user("soe"))] == ["SOE-JS"]
        tree = records.tree(user("soe"), records.visible_groups(user("soe"))[0])
        assert tree[0]["org"].code == "SOE-JS" and {c["org"].code for c in tree[0]["children"]} >= {"SOE-JS-01"}
    city, group, district = client_for("chief"), client_for("soe"), client_for("hp_leader")
    assert "CT-1" in page_text(city.get("/soe/records")) and "JS-1" in page_text(city.get("/soe/records"))
    text = page_text(group.get("/soe/records"))
    assert "JS-1" in text and "CT-1" not in text
    assert group.get(f"/soe/records/{ct_record}").status_code == 404  # another group's record
    assert "有限空间作业未审批" in page_text(city.get(f"/soe/records/{ct_record}"))
    assert group.get(f"/soe/?group_id={ct_id}").status_code == 404
    assert "上海久事" in page_text(group.get("/soe/"))
    assert district.get("/soe/").status_code == 403  # no SOE data for a district
    # bad filters: Chinese messages
    resp = city.get("/soe/records?start=2026-13-01")
    assert resp.status_code == 422 and "开始日期格式应为 YYYY-MM-DD" in page_text(resp)
    resp = city.get("/soe/records?start=2026-11-05&end=2026-11-01")
    assert "开始日期不能晚于结束日期" in page_text(resp)


def test_typical_hazards_and_violations_across_groups(app, soe_data, client_for):
    with app.app_context():
        result = records.typical(user("chief"), "hazard", records.Filters())
        assert result["ranked"][0] == ("消防通道堵塞", 3)
        assert dict(result["ranked"])["电气线路私拉乱接"] == 2
        groups = {g["name"]: g["value"] for g in result["chart"]["groups"]}
        assert sum(groups.values()) == 6 and len(groups) == 2
        own = records.typical(user("soe"), "violation", records.Filters())
        assert own["ranked"] == [("未按规定开展安全培训", 1)]  # only its own records
    page = page_text(client_for("chief").get("/soe/typical/violation"))
    assert "特种作业人员无证上岗" in page and "data-soe-typical" in page
    assert client_for("chief").get("/soe/typical/nothing").status_code == 404


def deploy_guidance(app) -> None:
    from app.engine import deploy

    deploy.deploy(deploy.sources_from_files(Path(app.config["WORKFLOWS_DIR"]) / "soe_guidance.bpmn"))


def _open(app, step):
    with app.app_context():
        rows = db.session.scalars(
            select(HumanTask).where(
                HumanTask.status == "open", HumanTask.process_id == "soe_guidance", HumanTask.step == step
            )
        ).all()
        return rows[0].id if rows else None


def _plain(resp) -> str:
    return re.sub(r"<[^>]+>", "", page_text(resp))


def _act(client, task_id, action, **data):
    resp = client.post(f"/inbox/tasks/{task_id}/act", data={"action": action, **data})
    assert resp.status_code == 302, page_text(resp)


def test_guidance_thread_through_inbox(app, client_for):
    with app.app_context():
        deploy_guidance(app)
        group_id = _org("SOE-JS").id
        db.session.commit()
    chief = client_for("chief")
    deadline = (datetime.now(SHANGHAI).date() + timedelta(days=7)).isoformat()
    # bad input is refused with Chinese messages
    resp = chief.post("/soe/guidance", data={"group_id": group_id, "title": "", "body": "短", "deadline": "2020-01-01"})
    assert resp.status_code == 422
    text = page_text(resp)
    assert "请填写标题" in text and "至少 5 个字" in text and "反馈期限不能早于今天" in text
    resp = chief.post(
        "/soe/guidance",
        data={
            "group_id": group_id,
            "title": "加强有限空间作业管理",
            "body": "请集团对所属单位有限空间作业开展专项排查，并反馈整改情况。",
            "deadline": deadline,
            "files": (io.BytesIO(b"%PDF-1.4\n%test\n"), "排查要点.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, page_text(resp)
    with app.app_context():
        g = db.session.scalar(select(Guidance))
        gid = g.id
        assert g.status == "open" and g.messages[0].attachments[0]["name"] == "排查要点.pdf"
    # the group sees it in its inbox; a member unit account and another group do not
    group = client_for("soe")
    assert "加强有限空间作业管理" in page_text(group.get("/inbox/"))
    assert "加强有限空间作业管理" not in page_text(client_for("soe_unit").get("/inbox/"))
    # read receipts: unread by the group until it opens the thread
    assert "集团阅读：未读" in _plain(chief.get(f"/soe/guidance/{gid}"))
    assert "排查要点.pdf" in page_text(group.get(f"/soe/guidance/{gid}"))
    assert "集团阅读：久事安全经理" in _plain(chief.get(f"/soe/guidance/{gid}"))
    feedback = _open(app, "feedback")
    _act(
        group,
        feedback,
        "complete",
        feedback="已完成排查，发现 3 处问题，正在整改。",
        feedback_files=(io.BytesIO(b"%PDF-1.4\n%report\n"), "整改报告.pdf"),
    )
    with app.app_context():
        assert db.session.get(Guidance, gid).status == "answered"
    review = _open(app, "review")
    _act(chief, review, "reject", comment="请补充整改完成时限")
    with app.app_context():
        assert db.session.get(Guidance, gid).status == "returned"
    again = _open(app, "feedback")
    assert "请补充整改完成时限" in page_text(group.get(f"/inbox/tasks/{again}"))
    _act(group, again, "complete", feedback="整改将于 12 月 20 日前完成。")
    _act(chief, _open(app, "review"), "approve", comment="收悉，按期落实")
    with app.app_context():
        g = db.session.get(Guidance, gid)
        assert g.status == "closed" and g.closed_at
        assert [m.kind for m in g.messages] == ["guidance", "feedback", "reply", "feedback", "reply"]
        assert g.messages[1].author.login == "soe" and g.messages[2].body == "请补充整改完成时限"
        assert g.messages[1].attachments[0]["name"] == "整改报告.pdf"  # the group's attachment in the thread
    thread = page_text(chief.get(f"/soe/guidance/{gid}"))
    assert "整改将于 12 月 20 日前完成" in thread and "已办结" in thread and "整改报告.pdf" in thread
    # another group cannot open the thread; the list is scoped
    with app.app_context():
        create_user(
            login="soe_ct",
            name="城投安全经理",
            org=_org("SOE-CT"),
            password=TEST_PASSWORD,
            roles=["soe_officer"],
            is_leader=True,
            must_change_password=False,
        )
        db.session.commit()
    other = client_for("soe_ct")
    assert other.get(f"/soe/guidance/{gid}").status_code == 404
    assert "加强有限空间作业管理" not in page_text(other.get("/soe/guidance"))
    # a group account cannot send guidance
    assert group.post("/soe/guidance", data={"group_id": group_id, "title": "x"}).status_code == 403


def test_reminders_before_and_after_deadline(app):
    with app.app_context():
        deploy_guidance(app)
        today = datetime.now(SHANGHAI).date()
        g = guidance.create(
            user("chief"),
            group_id=_org("SOE-JS").id,
            title="节前安全检查",
            body="请开展节前安全检查并反馈。",
            deadline=(today + timedelta(days=1)).isoformat(),
        )
        db.session.commit()
        now = datetime.now(SHANGHAI)
        assert guidance.remind(now) == 1
        assert guidance.remind(now) == 0  # once
        soe_id = user("soe").id
        notes = db.session.scalars(
            select(Notification).where(Notification.user_id == soe_id, Notification.kind == "soe_guidance")
        ).all()
        assert len(notes) == 1 and "即将到期" in notes[0].title
        # after the deadline: an overdue notice once a day, to the group and the issuer
        later = now + timedelta(days=3)
        assert guidance.remind(later) == 1 and guidance.remind(later) == 0
        assert guidance.remind(later + timedelta(days=1)) == 1
        chief_notes = db.session.scalars(
            select(Notification).where(Notification.user_id == user("chief").id, Notification.kind == "soe_guidance")
        ).all()
        assert chief_notes and "已超期" in chief_notes[0].title
        kinds = [m.kind for m in db.session.scalars(select(GuidanceMessage).where(GuidanceMessage.guidance_id == g.id))]
        assert kinds.count("remind") == 3
        assert g.overdue(today + timedelta(days=2)) and not g.overdue(today)
        assert guidance.counts(user("chief"))["open"] == 1
        with pytest.raises(PermissionDenied):
            guidance.create(user("soe"), group_id=_org("SOE-JS").id, title="x", body="xxxxx", deadline="2099-01-01")
        with pytest.raises(ValidationFailed, match="请选择国有集团"):
            guidance.create(
                user("chief"), group_id=_org("310101").id, title="标题", body="内容内容内容", deadline="2099-01-01"
            )
        json.dumps(guidance.counts(user("soe")))


def test_reminders_run_in_the_scheduler_round(app):
    from app.engine.cli import ROUND_EVERY, ROUND_JOBS

    assert ROUND_JOBS["soe.remind"] is guidance.remind_job and ROUND_EVERY["soe.remind"] == 1800.0
