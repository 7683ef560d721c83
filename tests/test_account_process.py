"""Account opening (账号开通审核) through HTTP: a street via its district, an SOE group and a district
straight to the city; rejections with the reason; the account created with a one-time initial password."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.accounts_apply.models import AccountApplication
from app.audit.models import AuditEntry
from app.auth.models import User
from app.extensions import db
from app.inbox.models import HumanTask, Notification
from tests.conftest import page_text, user


@pytest.fixture
def account_process(app):
    from app.engine import deploy

    with app.app_context():
        deploy.deploy(deploy.sources_from_files(Path(app.config["WORKFLOWS_DIR"]) / "account_opening.bpmn"))
        db.session.commit()


def org_code(app, login: str) -> str:
    with app.app_context():
        return user(login).org.code


def apply(client, **data):
    return client.post("/accounts-apply/new", data=data)


def applied(app, client, **data) -> int:
    resp = apply(client, **data)
    assert resp.status_code == 302, page_text(resp)
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def open_row(app, step: str) -> int:
    with app.app_context():
        [row] = db.session.scalars(select(HumanTask).where(HumanTask.status == "open", HumanTask.step == step)).all()
        return row.id


def decide(client, task_id: int, action: str, comment: str | None = None):
    resp = client.post(f"/inbox/tasks/{task_id}/act", data={"action": action, "comment": comment or ""})
    assert resp.status_code == 302, page_text(resp)


def application(app, application_id: int) -> AccountApplication:
    with app.app_context():
        a = db.session.get(AccountApplication, application_id)
        db.session.expunge(a)
        return a


def street_application(app, client, login="s_zhangwei"):
    return applied(
        app,
        client,
        org=org_code(app, "hp_street"),
        name="张伟",
        login=login,
        phone="13900001111",
        position="安监专员",
        roles="street_officer",
        reason="街道新增安全监管专员，需要使用系统办理检查任务",
    )


def test_street_account_via_district_and_city_with_one_time_password(app, account_process, client_for):
    street = client_for("hp_street")
    app_id = street_application(app, street)
    assert application(app, app_id).status == "district_review"
    # Another district's leader cannot see or act on it.
    assert client_for("xh_leader").get(f"/accounts-apply/{app_id}").status_code == 404
    decide(client_for("hp_leader"), open_row(app, "district_review"), "approve", "同意")
    assert application(app, app_id).status == "city_review"
    decide(client_for("leader"), open_row(app, "city_review"), "approve", "同意开通")
    a = application(app, app_id)
    assert a.status == "created" and a.created_user_id and a.initial_password_enc.startswith("ENC1:")
    with app.app_context():
        new_user = db.session.get(User, a.created_user_id)
        assert new_user.must_change_password and new_user.org.code == org_code(app, "hp_street")
        assert new_user.role_codes == {"street_officer"}
        titles = db.session.scalars(
            select(Notification.title).where(Notification.user_id == user("hp_street").id)
        ).all()
        assert any("账号已开通：s_zhangwei" in t for t in titles)
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"account.apply", "account.create"} <= actions
    # Only the applicant sees the initial password, once.
    assert client_for("hp_leader").post(f"/accounts-apply/{app_id}/password").status_code == 403
    shown = street.post(f"/accounts-apply/{app_id}/password")
    password = shown.get_data(as_text=True).split('<code class="fs-5">')[1].split("</code>")[0]
    assert len(password) == 14
    assert street.post(f"/accounts-apply/{app_id}/password").status_code == 409
    assert application(app, app_id).initial_password_enc is None
    # The new account logs in and must change its password first.
    resp = app.test_client().post("/login", data={"login": "s_zhangwei", "password": password})
    assert resp.status_code == 302 and "password" in resp.headers["Location"]


def test_district_rejection_returns_the_reason(app, account_process, client_for):
    street = client_for("hp_street")
    app_id = street_application(app, street)
    leader = client_for("hp_leader")
    task = open_row(app, "district_review")
    assert leader.post(f"/inbox/tasks/{task}/act", data={"action": "reject"}).status_code == 422  # reason needed
    decide(leader, task, "reject", "该街道已有两名专员账号，请说明新增理由")
    a = application(app, app_id)
    assert a.status == "rejected" and "两名专员" in a.reject_reason and a.created_user_id is None
    assert "两名专员" in page_text(street.get(f"/accounts-apply/{app_id}"))
    with app.app_context():
        assert db.session.scalar(select(User).where(User.login == "s_zhangwei")) is None
        titles = db.session.scalars(
            select(Notification.title).where(Notification.user_id == user("hp_street").id)
        ).all()
        assert any("被驳回" in t and "两名专员" in t for t in titles)
    # The login is free again for a new application.
    street_application(app, street)


def test_soe_group_goes_straight_to_the_city_and_can_be_rejected(app, account_process, client_for):
    soe = client_for("soe")
    app_id = applied(
        app,
        soe,
        org=org_code(app, "soe"),
        name="钱多多",
        login="js_qian",
        roles="soe_officer",
        reason="集团安全部新增人员",
    )
    assert application(app, app_id).status == "city_review"
    decide(client_for("leader"), open_row(app, "city_review"), "reject", "请由集团安全管理部负责人提出申请")
    assert application(app, app_id).status == "rejected"


def test_district_leader_applies_for_a_district_account(app, account_process, client_for):
    district = client_for("hp_leader")
    app_id = applied(
        app,
        district,
        org="310101",
        name="赵敏",
        login="hp_zhaomin",
        roles=["district_officer"],
        reason="大队新进执法队员",
    )
    assert application(app, app_id).status == "city_review"
    decide(client_for("leader"), open_row(app, "city_review"), "approve")
    with app.app_context():
        assert db.session.scalar(select(User).where(User.login == "hp_zhaomin")).role_codes == {"district_officer"}


def test_invalid_applications_are_refused(app, account_process, client_for):
    street = client_for("hp_street")
    code = org_code(app, "hp_street")
    wrong_role = apply(street, org=code, name="张伟", login="s_zw", roles="district_leader", reason="需要使用系统")
    assert wrong_role.status_code == 422
    taken = apply(street, org=code, name="张伟", login="hp_officer", roles="street_officer", reason="需要使用系统")
    assert taken.status_code == 409 and "已被使用" in page_text(taken)
    other_org = apply(street, org="310104", name="张伟", login="s_zw", roles="street_officer", reason="需要使用系统")
    assert other_org.status_code == 422
    assert client_for("xh_officer").get("/accounts-apply/new").status_code == 403  # district officers do not apply
    with app.app_context():
        assert db.session.scalar(select(db.func.count(AccountApplication.id))) == 0
