"""The dry run follows the real run's rules: outcome semantics, node policies, and timers (快进)."""

from __future__ import annotations

import json
import re

import pytest

from app.extensions import db
from app.inbox import actions
from tests import bpmn_builder
from tests.conftest import deploy_test_process, user
from tests.test_process_admin import FILL, _counts, _task_id, _token

URL = "/admin/processes/{pid}/dryrun"


@pytest.fixture
def admin(login_as):
    return login_as("procadmin")


def _path(html: str) -> list[str]:
    return re.findall(r'<li data-step="([^"]+)"', html)


def _to_review(admin) -> str:
    url = URL.format(pid="approval_demo")
    html = admin.post(url, data={"data": "{}"}).get_data(as_text=True)
    return admin.post(
        url, data={"token": _token(html), "task_id": _task_id(html, "fill"), "data": json.dumps(FILL)}
    ).get_data(as_text=True)


def test_reject_on_an_approval_node_routes_like_the_real_run(app, admin):
    with app.app_context():
        deploy_test_process("approval_demo")
    html = _to_review(admin)
    # The sample no longer pretends a decision: the buttons decide, as in the inbox.
    assert '"approved"' not in html.split('data-step="review"')[1].split("</form>")[0]
    html = admin.post(
        URL.format(pid="approval_demo"),
        data={"token": _token(html), "task_id": _task_id(html, "review"), "data": "{}", "action": "reject"},
    ).get_data(as_text=True)
    assert 'data-step="fill"' in html  # gw_review's default flow back to 填写申请
    assert '"approved": false' in html and '"outcome": "reject"' in html
    # The real run, same decision, same place.
    with app.app_context():
        officer = user("hp_officer")
        inst = actions.start("approval_demo", actor=officer)
        from sqlalchemy import select

        from app.inbox.models import HumanTask

        def row(step):
            return db.session.scalar(
                select(HumanTask).where(
                    HumanTask.instance_id == inst.id, HumanTask.step == step, HumanTask.status == "open"
                )
            )

        actions.complete(row("fill"), officer, action="complete", form_data=FILL)
        actions.complete(row("review"), user("hp_leader"), action="reject", comment="不同意")
        db.session.commit()
        assert row("fill") is not None


def test_the_dry_run_clock_fires_a_boundary_timer(app, admin):
    with app.app_context():
        deploy_test_process("approval_demo")
    before = _counts(app)
    html = _to_review(admin)
    url = URL.format(pid="approval_demo")
    html = admin.post(
        url, data={"token": _token(html), "task_id": _task_id(html, "review"), "data": "{}", "action": "approve"}
    ).get_data(as_text=True)
    assert "签发超时" in html and "时钟快进" in html
    token = _token(html)
    html = admin.post(url, data={"token": token, "advance": "1", "hours": "0.5"}).get_data(as_text=True)
    assert "没有定时器到期" in html and 'data-step="sign"' in html
    html = admin.post(url, data={"token": token, "advance": "1", "hours": "2"}).get_data(as_text=True)
    assert "「签发超时」到期触发" in html and 'id="dryrun-completed"' in html
    assert _path(html)[-2:] == ["escalate", "end_escalated"] and '"escalated": true' in html
    resp = admin.post(url, data={"token": token, "advance": "1", "hours": "abc"})
    assert resp.status_code == 422 and "快进时长须是小时数" in resp.get_data(as_text=True)
    assert _counts(app) == before  # nothing written


def test_node_policies_decide_in_the_dry_run_as_in_the_real_run(app, admin):
    pid = "dr_policy"
    xml = bpmn_builder.linear(pid, [("self_check", "本人复核", {"assignee": "initiator", "onInitiator": "skip"})])
    with app.app_context():
        bpmn_builder.deploy_xml(pid, xml)
        inst = actions.start(pid, actor=user("hp_officer"))
        from sqlalchemy import select

        from app.inbox.models import HumanTask

        fill = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == inst.id))
        actions.complete(fill, user("hp_officer"), action="complete", form_data={"subject": "事项"})
        db.session.commit()
        real = sorted(
            db.session.scalars(
                select(HumanTask.step).where(HumanTask.instance_id == inst.id, HumanTask.status == "open")
            )
        )
    assert real == ["archive"]  # the initiator-approver node was skipped
    url = URL.format(pid=pid)
    html = admin.post(url, data={"data": "{}"}).get_data(as_text=True)
    html = admin.post(
        url, data={"token": _token(html), "task_id": _task_id(html, "fill"), "data": '{"subject": "事项"}'}
    ).get_data(as_text=True)
    assert "「本人复核」审批人为发起人，按节点设置跳过" in html
    assert 'data-step="archive"' in html and 'data-step="self_check"' not in html.split("经过的路径")[0]
