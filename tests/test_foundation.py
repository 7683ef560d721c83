"""The factory, config, health check, login/logout, CSRF, safe redirects and the page shell."""

from __future__ import annotations

import re

import pytest

from app import create_app
from app.config import ConfigError, load_config
from tests.conftest import TEST_PASSWORD, page_text


def test_factory_registers_blueprints(app):
    assert {"auth", "portal", "admin"} <= set(app.blueprints)
    assert app.config["TESTING"] is True


def test_production_refuses_to_start_without_secret(monkeypatch):
    monkeypatch.setenv("DUCHA_ENV", "production")
    monkeypatch.delenv("DUCHA_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app()


def test_production_refuses_development_pepper(monkeypatch):
    monkeypatch.setenv("DUCHA_ENV", "production")
    monkeypatch.setenv("DUCHA_SECRET_KEY", "s" * 40)
    monkeypatch.delenv("DUCHA_PASSWORD_PEPPER", raising=False)
    with pytest.raises(ConfigError, match="PASSWORD_PEPPER"):
        load_config()


def test_postgres_url_uses_psycopg_driver(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert load_config()["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


def test_healthz_reports_database(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert "scheduler" in body


def test_pages_require_login(client):
    resp = client.get("/admin/users")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]


def test_login_shows_shell_and_logout(client, auth):
    resp = auth.login("hp_officer")
    assert resp.status_code == 302
    home = client.get("/")
    text = page_text(home)
    assert home.status_code == 200
    assert "工作台" in text and "黄浦队员" in text and "退出登录" in text
    assert "系统管理" not in text  # a district officer has no admin module
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_unknown_user_and_wrong_password_get_the_same_message(client, auth):
    unknown = auth.login("nobody", "whatever")
    wrong = auth.login("hp_officer", "wrong-password")
    assert unknown.status_code == wrong.status_code == 401
    assert "登录名或密码错误" in page_text(unknown)
    assert "登录名或密码错误" in page_text(wrong)

    # The pages differ only in the echoed login field (and the CSRF token, which carries a timestamp: two
    # requests on either side of a second boundary, common on a loaded machine, get different tokens).
    def same(resp, login):
        return re.sub(r'name="csrf[-_]token" (content|value)="[^"]*"', "CSRF", page_text(resp).replace(login, "X"))

    assert same(unknown, "nobody") == same(wrong, "hp_officer")


def test_safe_next_redirects(client, auth):
    resp = client.post("/login?next=/admin/users", data={"login": "admin", "password": TEST_PASSWORD})
    assert resp.headers["Location"].endswith("/admin/users")
    client.post("/logout")
    for evil in ("https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        resp = client.post(f"/login?next={evil}", data={"login": "admin", "password": TEST_PASSWORD})
        assert resp.headers["Location"] == "/", evil
        client.post("/logout")


def test_csrf_refused_when_enabled(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        resp = client.post("/login", data={"login": "admin", "password": TEST_PASSWORD})
        assert resp.status_code == 400
        assert "CSRF" in page_text(resp)
        # With the token from the page it goes through.
        page = client.get("/login").get_data(as_text=True)
        import re

        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        ok = client.post("/login", data={"login": "admin", "password": TEST_PASSWORD, "csrf_token": token})
        assert ok.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_security_headers(client):
    resp = client.get("/login")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in resp.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]


def test_api_errors_are_json(client, auth):
    auth.login("hp_officer")
    resp = client.get("/api/v1/does-not-exist")
    assert resp.status_code == 404
    assert resp.get_json()["message"] == "页面不存在"


def test_must_change_password_on_first_login(app, client, ctx):
    from app.auth.services import create_user
    from app.extensions import db
    from app.orgs.services import by_code

    create_user(login="newbie", name="新人", org=by_code("310101"), password=TEST_PASSWORD, roles=["district_officer"])
    db.session.commit()
    resp = client.post("/login", data={"login": "newbie", "password": TEST_PASSWORD})
    assert "/account/password" in resp.headers["Location"]
    bad = client.post(
        "/account/password", data={"old_password": TEST_PASSWORD, "password": "short", "password2": "short"}
    )
    assert bad.status_code == 422 and "至少 8 位" in page_text(bad)
    good = client.post(
        "/account/password",
        data={"old_password": TEST_PASSWORD, "password": "Brand#New2026", "password2": "Brand#New2026"},
    )
    assert good.status_code == 302
    client.post("/logout")
    assert client.post("/login", data={"login": "newbie", "password": "Brand#New2026"}).status_code == 302


def test_lockout_after_repeated_failures(client, auth):
    for _ in range(5):
        auth.login("hp_officer", "bad-password")
    resp = auth.login("hp_officer")  # correct password, but locked now
    assert resp.status_code == 401
    assert "锁定" in page_text(resp)
