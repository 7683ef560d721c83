"""API tokens of service accounts: the security administrator's page, scope, expiry, revocation, audit,
one statement to authenticate, and CSRF (a bearer request without a session cookie is exempt)."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import event, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.models_base import utcnow
from app.security.models import ApiToken
from app.security.tokens import digest
from tests.api_helpers import Bearer, deploy_flow, issue_token
from tests.conftest import TEST_PASSWORD, page_text


def test_security_admin_creates_account_issues_once_and_revokes(app, client_for):
    sec = client_for("secadmin")
    assert client_for("hp_officer").get("/security/api-tokens/").status_code == 403
    page = sec.get("/security/api-tokens/")
    assert page.status_code == 200 and "还没有签发 API 令牌" in page_text(page)
    with app.app_context():
        from app.orgs.models import Organisation

        hp = db.session.scalar(select(Organisation.id).where(Organisation.code == "310101"))
        xh = db.session.scalar(select(Organisation.id).where(Organisation.code == "310104"))
    made = sec.post(
        "/security/api-tokens/accounts",
        data={"login": "svc_exchange", "name": "数据交换平台", "org_id": hp, "roles": ["district_officer"]},
    )
    assert made.status_code == 302
    with app.app_context():
        from tests.conftest import user

        account_id = user("svc_exchange").id
        assert user("svc_exchange").service_account is True
    too_much = sec.post(
        "/security/api-tokens/",
        data={"account_id": account_id, "name": "交换", "permissions": ["inbox.use", "audit.read"], "days": "30"},
    )
    assert too_much.status_code == 422 and "超出服务账号角色的权限：审计日志查看" in page_text(too_much)
    outside = sec.post(
        "/security/api-tokens/",
        data={"account_id": account_id, "name": "交换", "permissions": ["inbox.use"], "scope_org_id": xh, "days": "30"},
    )
    assert outside.status_code == 422 and "数据范围必须在服务账号所属单位的范围之内" in page_text(outside)
    issued = sec.post(
        "/security/api-tokens/",
        data={"account_id": account_id, "name": "市数据交换平台", "permissions": ["inbox.use"], "days": "30"},
    )
    assert issued.status_code == 200
    token = re.search(r"(dct_[A-Za-z0-9_-]{43})", issued.get_data(as_text=True)).group(1)
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash == digest(token) and token not in row.token_hash and row.prefix == token[:10]
        assert row.permissions == ["inbox.use"]
    listing = page_text(sec.get("/security/api-tokens/"))
    assert token not in listing and token[:10] in listing and "市数据交换平台" in listing and "有效" in listing
    api = Bearer(app, token)
    assert api.get("/api/v1/me").get_json()["permissions"] == ["inbox.use"]
    assert sec.post(f"/security/api-tokens/{row.id}/revoke").status_code == 302
    refused = api.get("/api/v1/me")
    assert refused.status_code == 401 and refused.get_json()["message"] == "API 令牌已被吊销"
    assert "已吊销" in page_text(sec.get("/security/api-tokens/"))
    with app.app_context():
        actions = [a for (a,) in db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
    assert {"service_account.create", "api_token.issue", "api_token.revoke"} <= set(actions)
    # A service account never logs in through the login form.
    login = app.test_client().post("/login", data={"login": "svc_exchange", "password": TEST_PASSWORD})
    assert login.status_code == 401 and "登录名或密码错误" in page_text(login)


def test_token_permissions_scope_and_acts_are_the_accounts(app):
    with app.app_context():
        deploy_flow()
    # A city-level account whose token is narrowed to Huangpu (310101) and to the inbox.
    token = issue_token(
        app, "svc_city", org="SHYJ", roles=["district_leader"], permissions=["inbox.use"], scope="310101"
    )
    officer_token = issue_token(app, "svc_hp", org="310101", roles=["district_officer"])
    hp, xh = (
        Bearer(app, officer_token),
        Bearer(app, issue_token(app, "svc_xh", org="310104", roles=["district_officer"])),
    )
    me = Bearer(app, token).get("/api/v1/me").get_json()
    assert (
        me["service_account"] is True
        and me["scope"] == "黄浦区应急管理局执法大队"
        and me["permissions"] == ["inbox.use"]
    )
    assert me["token_name"] == "svc_city 的令牌"
    started = hp.post("/api/v1/processes/api_flow/instances", json={"data": {"subject": "令牌发起"}})
    assert started.status_code == 201
    fill = started.get_json()["tasks"][0]["id"]
    assert (
        hp.post(f"/api/v1/tasks/{fill}/complete", json={"action": "complete", "data": {"subject": "令牌"}}).status_code
        == 200
    )
    inst = started.get_json()["instance"]["id"]
    assert xh.get(f"/api/v1/instances/{inst}").status_code == 404
    leader = Bearer(app, token)
    [task] = leader.get("/api/v1/tasks").get_json()["items"]
    assert leader.post(f"/api/v1/tasks/{task['id']}/complete", json={"action": "approve"}).status_code == 200
    # Without process.start in the token, starting is refused even though the role could.
    assert leader.post("/api/v1/processes/api_flow/instances", json={"data": {"subject": "x"}}).status_code == 404
    with app.app_context():
        acts = db.session.execute(
            select(AuditEntry.action, AuditEntry.actor_login).where(AuditEntry.action.like("task.%"))
        ).all()
    assert ("task.complete", "svc_hp") in acts and ("task.approve", "svc_city") in acts


def test_token_without_inbox_permission_and_bad_tokens(app):
    token = issue_token(app, "svc_stats", org="SHYJ", roles=["city_leader"], permissions=["stats.read"])
    api = Bearer(app, token)
    denied = api.get("/api/v1/tasks")
    assert denied.status_code == 403 and denied.get_json()["code"] == "forbidden"
    for bad in ("dct_" + "x" * 43, "not-a-token", ""):
        resp = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {bad}"})
        assert resp.status_code == 401 and resp.get_json()["message"] in ("API 令牌无效", "请先登录")
    # A bearer token is for the API only: pages ignore it.
    page = app.test_client().get("/inbox/", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_token_expiry_and_disabled_account(app):
    token = issue_token(app, "svc_exp", org="310101", roles=["district_officer"])
    api = Bearer(app, token)
    assert api.get("/api/v1/me").status_code == 200
    with time_machine.travel(utcnow() + timedelta(days=31), tick=False):
        expired = api.get("/api/v1/me")
    assert expired.status_code == 401 and expired.get_json()["message"] == "API 令牌已过期"
    with app.app_context():
        from tests.conftest import user

        user("svc_exp").status = "disabled"
        db.session.commit()
    off = api.get("/api/v1/me")
    assert off.status_code == 401 and off.get_json()["message"] == "API 令牌所属的服务账号已停用"


def test_token_authentication_is_one_statement(app):
    token = issue_token(app, "svc_one", org="310101", roles=["district_officer"])
    api = Bearer(app, token)
    assert api.get("/api/v1/me").status_code == 200  # touches last_used_at (once a minute)
    statements = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        resp = api.get("/api/v1/me")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert resp.status_code == 200 and resp.get_json()["login"] == "svc_one"
    assert len(statements) == 1, statements
    assert "api_tokens" in statements[0] and "roles" in statements[0]


def test_csrf_session_needs_header_bearer_alone_does_not(app, client_for, monkeypatch):
    with app.app_context():
        deploy_flow()
    officer = client_for("hp_officer")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    refused = officer.post("/api/v1/processes/api_flow/instances", json={"data": {"subject": "x"}})
    assert refused.status_code == 400 and refused.get_json()["code"] == "bad_request"
    assert "CSRF" in refused.get_json()["message"]
    page = officer.get("/inbox/start").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    ok = officer.post(
        "/api/v1/processes/api_flow/instances", json={"data": {"subject": "x"}}, headers={"X-CSRFToken": csrf}
    )
    assert ok.status_code == 201
    token = issue_token(app, "svc_csrf", org="310101", roles=["district_officer"])
    bearer_only = Bearer(app, token).post("/api/v1/processes/api_flow/instances", json={"data": {"subject": "y"}})
    assert bearer_only.status_code == 201
    # A bearer header on a request that also carries the browser's session cookie is checked like the session.
    mixed = officer.post(
        "/api/v1/processes/api_flow/instances",
        json={"data": {"subject": "z"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert mixed.status_code == 400 and "CSRF" in mixed.get_json()["message"]
