"""Server-side sessions: one per user, idle and absolute expiry, logout ends it, 我的会话."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.security.models import UserSession
from app.security.sessions import token_hash
from tests.conftest import TEST_PASSWORD, page_text, user

COOKIE = "ducha_session"
SUPERSEDED = "您的账号已在其他地方登录，本会话已结束"


def _token(client) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def _rows(app, login: str) -> list[UserSession]:
    with app.app_context():
        uid = user(login).id
        return list(db.session.scalars(select(UserSession).where(UserSession.user_id == uid).order_by(UserSession.id)))


def test_login_creates_a_session_row_with_only_the_token_hash(app, login_as):
    c = login_as("hp_officer")
    token = _token(c)
    assert len(token) >= 43  # 256 random bits, base64url
    (row,) = _rows(app, "hp_officer")
    assert row.token_hash == token_hash(token) != token
    assert row.ended_at is None and row.ip == "127.0.0.1"
    cookie = c.get_cookie(COOKIE)
    assert cookie.http_only and cookie.same_site == "Lax"


def test_new_login_ends_the_older_session_with_a_message(app, login_as):
    first = login_as("hp_officer")
    assert first.get("/").status_code == 200
    second = login_as("hp_officer")
    assert second.get("/").status_code == 200
    resp = first.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    page = first.get(resp.headers["Location"])
    assert SUPERSEDED in page_text(page)
    assert first.get("/").status_code == 302  # and it stays refused
    rows = _rows(app, "hp_officer")
    assert [r.end_reason for r in rows] == ["superseded", None]
    # Other users are not affected.
    other = login_as("xh_officer")
    assert second.get("/").status_code == 200 and other.get("/").status_code == 200


def test_superseded_api_request_gets_json_401(app, login_as):
    first = login_as("hp_officer")
    login_as("hp_officer")
    resp = first.get("/", headers={"Accept": "application/json"})
    assert resp.status_code == 401
    assert resp.get_json() == {"code": "unauthorized", "message": SUPERSEDED, "errors": {}}


def test_stolen_cookie_is_refused_after_logout(app, client, auth):
    auth.login("hp_officer")
    token = _token(client)
    thief = app.test_client()
    thief.set_cookie(COOKIE, token)
    assert thief.get("/").status_code == 200  # the cookie alone is the credential...
    assert client.post("/logout").status_code == 302
    assert client.get_cookie(COOKIE) is None
    resp = thief.get("/")  # ...until logout ends it on the server
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    (row,) = _rows(app, "hp_officer")
    assert row.end_reason == "logout" and row.ended_at is not None


def test_flask_user_id_alone_does_not_authenticate(app, client, auth):
    auth.login("hp_officer")
    # Drop our token but keep Flask's signed session (which still names the user id).
    client.delete_cookie(COOKIE)
    resp = client.get("/")
    assert resp.status_code == 302


def test_forged_or_unknown_token_is_refused(client):
    client.set_cookie(COOKIE, "x" * 43)
    assert client.get("/").status_code == 302


def test_idle_timeout(app, login_as):
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        c = login_as("hp_officer")
        clock.shift(timedelta(minutes=29))
        assert c.get("/").status_code == 200  # activity moves the idle window
        clock.shift(timedelta(minutes=29))
        assert c.get("/").status_code == 200
        clock.shift(timedelta(minutes=31))
        resp = c.get("/")
        assert resp.status_code == 302
        assert "长时间未操作" in page_text(c.get(resp.headers["Location"]))
    assert _rows(app, "hp_officer")[0].end_reason == "idle"


def test_absolute_timeout(app, login_as):
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        c = login_as("hp_officer")
        for _ in range(35):  # active every 20 minutes: never idle
            clock.shift(timedelta(minutes=20))
            assert c.get("/").status_code == 200
        clock.shift(timedelta(minutes=21))  # past 12 h after login
        resp = c.get("/")
        assert resp.status_code == 302
        assert "最长有效时间" in page_text(c.get(resp.headers["Location"]))
    assert _rows(app, "hp_officer")[0].end_reason == "expired"


def test_timeouts_are_configurable(app, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 5)
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        c = login_as("hp_officer")
        clock.shift(timedelta(minutes=6))
        assert c.get("/").status_code == 302


def test_disabled_account_loses_its_session(app, login_as):
    c = login_as("hp_officer")
    admin = login_as("admin")
    with app.app_context():
        target = user("hp_officer")
        form = {"name": target.name, "org_id": target.org_id, "roles": ["district_officer"], "status": "disabled"}
    assert admin.post(f"/admin/users/{target.id}", data=form).status_code == 302
    resp = c.get("/")
    assert resp.status_code == 302
    assert "账号状态已变更" in page_text(c.get(resp.headers["Location"]))


def test_my_sessions_page_lists_and_ends(app, login_as):
    old = login_as("hp_officer")
    c = login_as("hp_officer")
    page = c.get("/account/sessions")
    text = page_text(page)
    assert page.status_code == 200 and "我的会话" in text and "当前会话" in text and "在其他地方登录" in text
    current = _rows(app, "hp_officer")[-1]
    resp = c.post(f"/account/sessions/{current.id}/end")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert c.get("/").status_code == 302
    assert old.get("/").status_code == 302
    # Another user's session cannot be ended from here.
    other = login_as("xh_officer")
    mine = login_as("hp_officer")
    other_row = _rows(app, "xh_officer")[-1]
    assert mine.post(f"/account/sessions/{other_row.id}/end").status_code == 404
    assert other.get("/").status_code == 200


def test_single_session_can_be_switched_off(app, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_SINGLE", False)
    a = login_as("hp_officer")
    b = login_as("hp_officer")
    assert a.get("/").status_code == 200 and b.get("/").status_code == 200


def test_login_page_after_password_reset_by_admin(app, login_as):
    c = login_as("hp_officer")
    admin = login_as("admin")
    with app.app_context():
        uid = user("hp_officer").id
    assert admin.post(f"/admin/users/{uid}/password", data={"password": "Reset#Pass2026"}).status_code == 302
    assert c.get("/").status_code == 302
    assert c.post("/login", data={"login": "hp_officer", "password": TEST_PASSWORD}).status_code == 401
