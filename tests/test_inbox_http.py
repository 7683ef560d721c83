"""The inbox through HTTP as three different users: lanes, DMN, boundary timer, send-back, errors."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.engine.models import ProcessInstance
from app.extensions import db
from app.inbox.models import HumanTask
from app.models_base import utcnow
from tests.conftest import deploy_test_process, page_text


@pytest.fixture
def demo(app):
    with app.app_context():
        deploy_test_process("approval_demo")


def open_rows(app, step=None):
    with app.app_context():
        stmt = select(HumanTask).where(HumanTask.status == "open").order_by(HumanTask.id)
        if step:
            stmt = stmt.where(HumanTask.step == step)
        return [(r.id, r.instance_id, r.step) for r in db.session.scalars(stmt)]


def start_and_fill(client, subject="仓库安全检查", amount="20000"):
    resp = client.post("/inbox/start/approval_demo")
    assert resp.status_code == 302, page_text(resp)
    task_url = resp.headers["Location"]
    assert "/inbox/tasks/" in task_url
    task_id = int(task_url.rsplit("/", 1)[1])
    resp = client.post(
        f"/inbox/tasks/{task_id}/act",
        data={"action": "complete", "subject": subject, "amount": amount, "category": "a"},
    )
    assert resp.status_code == 302, page_text(resp)
    return task_id


def test_scenario_three_users_with_dmn_and_send_back(app, demo, login_as):
    officer, district, city = login_as("hp_officer"), login_as("hp_leader"), login_as("leader")
    fill_id = start_and_fill(officer)
    # The district leader sees the review in 待办 (lane district_leader, scope 黄浦); Xuhui does not.
    assert "仓库安全检查" in page_text(district.get("/inbox/"))
    assert "仓库安全检查" not in page_text(login_as("xh_leader").get("/inbox/"))
    [(review_id, inst_id, _)] = open_rows(app, "review")
    page = page_text(district.get(f"/inbox/tasks/{review_id}"))
    assert "通过" in page and "拒绝" in page and "退回" in page
    assert 'value="fill"' in page  # the only return target is the visited step
    # 退回 without a reason is refused, with a reason it goes back to the officer.
    bad = district.post(f"/inbox/tasks/{review_id}/act", data={"action": "return", "target": "fill"})
    assert bad.status_code == 422 and "退回必须填写原因" in page_text(bad)
    ok = district.post(
        f"/inbox/tasks/{review_id}/act", data={"action": "return", "target": "fill", "comment": "请补充金额依据"}
    )
    assert ok.status_code == 302
    [(again_id, _, step)] = open_rows(app)
    assert step == "fill" and again_id != fill_id
    assert "请补充金额依据" in page_text(officer.get(f"/inbox/tasks/{again_id}"))
    officer.post(
        f"/inbox/tasks/{again_id}/act",
        data={"action": "complete", "subject": "仓库安全检查", "amount": "20000", "category": "a"},
    )
    [(review_id, _, _)] = open_rows(app, "review")
    district.post(f"/inbox/tasks/{review_id}/act", data={"action": "approve", "comment": "同意"})
    [(sign_id, _, _)] = open_rows(app, "sign")
    assert city.post(f"/inbox/tasks/{sign_id}/act", data={"action": "approve"}).status_code == 302
    with app.app_context():
        inst = db.session.get(ProcessInstance, inst_id)
        assert inst.status == "completed"
    done = page_text(district.get("/inbox/?tab=done"))
    assert "仓库安全检查" in done and "通过" in done and "退回" in done
    started = page_text(officer.get("/inbox/?tab=started"))
    assert "已办结" in started


def test_boundary_timer_escalates_through_scheduler_round(app, demo, login_as):
    from app.engine.cli import run_round

    officer, district = login_as("hp_officer"), login_as("hp_leader")
    start_and_fill(officer, amount="5")
    [(review_id, inst_id, _)] = open_rows(app, "review")
    district.post(f"/inbox/tasks/{review_id}/act", data={"action": "approve"})
    assert open_rows(app, "sign")
    with time_machine.travel(utcnow() + timedelta(hours=2), tick=False):
        run_round(app)
    assert open_rows(app, "sign") == []
    with app.app_context():
        inst = db.session.get(ProcessInstance, inst_id)
        assert inst.status == "completed"
    # The history shows the timer.
    assert "定时器触发" in page_text(officer.get(f"/inbox/instances/{inst_id}"))


def test_malformed_form_changes_nothing(app, demo, login_as):
    officer = login_as("hp_officer")
    resp = officer.post("/inbox/start/approval_demo")
    task_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    bad = officer.post(
        f"/inbox/tasks/{task_id}/act", data={"action": "complete", "subject": "x", "amount": "很多", "category": "z"}
    )
    text = page_text(bad)
    assert bad.status_code == 422
    assert "金额请输入数字" in text
    assert open_rows(app) == [(task_id, open_rows(app)[0][1], "fill")]
    bad2 = officer.post(
        f"/inbox/tasks/{task_id}/act", data={"action": "complete", "subject": "x", "amount": "-1", "category": "z"}
    )
    text = page_text(bad2)
    assert "事项至少 2 个字" in text and "金额不能小于 0" in text and "类别的取值无效" in text
    assert len(open_rows(app)) == 1


def test_stale_task_and_double_submit(app, demo, login_as):
    officer = login_as("hp_officer")
    fill_id = start_and_fill(officer)
    again = officer.post(
        f"/inbox/tasks/{fill_id}/act", data={"action": "complete", "subject": "重复", "amount": "1", "category": "a"}
    )
    assert again.status_code == 409
    assert "已由" in page_text(again) and "请勿重复提交" in page_text(again)
    assert len(open_rows(app, "review")) == 1


def test_task_outside_scope_is_hidden(app, demo, login_as):
    start_and_fill(login_as("hp_officer"))
    [(review_id, _, _)] = open_rows(app, "review")
    xh = login_as("xh_leader")
    assert xh.get(f"/inbox/tasks/{review_id}").status_code == 404
    resp = xh.post(f"/inbox/tasks/{review_id}/act", data={"action": "approve"})
    assert resp.status_code == 404
    assert len(open_rows(app, "review")) == 1
    assert login_as("hp_officer").get("/inbox/tasks/999999").status_code == 404


def test_two_users_complete_same_task_at_once(app, demo, login_as):
    """Two leaders of the same district act on one role task at the same moment: exactly one wins."""
    officer = login_as("hp_officer")
    start_and_fill(officer)
    [(review_id, _inst_id, _)] = open_rows(app, "review")
    with app.app_context():
        from app.auth.services import create_user
        from app.orgs.services import by_code
        from tests.conftest import TEST_PASSWORD

        create_user(
            login="hp_leader2",
            name="黄浦副大队长",
            org=by_code("310101"),
            password=TEST_PASSWORD,
            roles=["district_leader"],
            must_change_password=False,
        )
        db.session.commit()
    a, b = login_as("hp_leader"), login_as("hp_leader2")
    barrier = threading.Barrier(2)
    results = {}

    def act(name, client):
        barrier.wait()
        results[name] = client.post(f"/inbox/tasks/{review_id}/act", data={"action": "approve", "comment": name})

    threads = [threading.Thread(target=act, args=(n, c)) for n, c in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results.values())
    assert codes == [302, 409], codes
    loser = next(r for r in results.values() if r.status_code == 409)
    assert "处理" in page_text(loser)
    assert len(open_rows(app, "sign")) == 1  # the instance moved on exactly once
    with app.app_context():
        done = db.session.scalars(select(HumanTask).where(HumanTask.id == review_id)).one()
        assert done.status == "completed"


def test_inbox_badge_and_filters(app, demo, login_as):
    officer, district = login_as("hp_officer"), login_as("hp_leader")
    for i in range(3):
        start_and_fill(officer, subject=f"检查事项{i}")
    home = page_text(district.get("/"))
    assert 'id="inbox-badge">3<' in home.replace(" ", "")
    filtered = page_text(district.get("/inbox/?q=事项1"))
    assert "检查事项1" in filtered and "检查事项0" not in filtered
    assert page_text(district.get("/inbox/?status=overdue")).count("检查事项") == 0


def test_comment_attachment_and_type_check(app, demo, login_as):
    import io

    officer = login_as("hp_officer")
    start_and_fill(officer)
    [(_, inst_id, _)] = open_rows(app, "review")
    officer.post(f"/inbox/instances/{inst_id}/comment", data={"body": "补充说明：现场照片已上传"})
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    ok = officer.post(
        f"/inbox/instances/{inst_id}/attach",
        data={"file": (io.BytesIO(png), "现场.png")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    evil = officer.post(
        f"/inbox/instances/{inst_id}/attach",
        data={"file": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 100), "报告.pdf")},
        content_type="multipart/form-data",
    )
    assert evil.status_code == 422 and "不支持的文件类型" in page_text(evil)
    page = page_text(officer.get(f"/inbox/instances/{inst_id}"))
    assert "补充说明" in page and "现场.png" in page and "报告.pdf" not in page


def test_history_records_data_changes(app, demo, login_as):
    from app.engine.models import InstanceEvent

    officer = login_as("hp_officer")
    start_and_fill(officer, subject="数据变更", amount="7")
    with app.app_context():
        event = db.session.scalar(select(InstanceEvent).where(InstanceEvent.kind == "complete"))
        assert event.data["changes"]["subject"] == [None, "数据变更"]
        assert event.data["changes"]["amount"] == [None, 7]
    [(_, inst_id, _)] = open_rows(app, "review")
    assert "修改了" in page_text(officer.get(f"/inbox/instances/{inst_id}"))
