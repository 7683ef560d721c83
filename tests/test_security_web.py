"""Web hardening: frame denial, CSP, generic error pages without stack traces, cookie flags."""

from __future__ import annotations

from app.config import load_config
from tests.conftest import page_text


def test_frames_are_denied_and_csp_forbids_inline_script(client):
    for path in ("/login", "/healthz", "/does-not-exist"):
        resp = client.get(path)
        assert resp.headers["X-Frame-Options"] == "DENY", path
        csp = dict(part.strip().split(" ", 1) for part in resp.headers["Content-Security-Policy"].split(";"))
        assert csp["frame-ancestors"] == "'none'"
        assert csp["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
        assert csp["object-src"] == "'none'"
        assert "data:" in csp["img-src"]  # the TOTP QR code is a data: image
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_login_page_needs_no_inline_script(client):
    html = client.get("/login").get_data(as_text=True)
    assert "<script>" not in html and "onclick=" not in html and "onload=" not in html


def test_forced_exception_shows_the_generic_chinese_500_page(app, login_as, monkeypatch):
    c = login_as("hp_officer")

    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setitem(app.view_functions, "portal.home", boom)
    resp = c.get("/")
    text = page_text(resp)
    assert resp.status_code == 500
    assert "系统内部错误，请联系管理员" in text
    for leak in ("Traceback", "RuntimeError", "hunter2", "secret internals", ".py"):
        assert leak not in text
    api = c.get("/", headers={"Accept": "application/json"})
    assert api.status_code == 500
    assert api.get_json() == {"code": "internal_error", "message": "系统内部错误，请联系管理员", "errors": {}}


def test_authenticated_pages_are_not_cached(login_as):
    assert login_as("hp_officer").get("/").headers["Cache-Control"] == "no-store"


def test_production_cookies_are_secure(monkeypatch):
    monkeypatch.setenv("DUCHA_ENV", "production")
    for key in ("SECRET_KEY", "PASSWORD_PEPPER", "AUDIT_KEY"):
        monkeypatch.setenv(f"DUCHA_{key}", "p" * 40)
    cfg = load_config()
    assert cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["SESSION_COOKIE_HTTPONLY"] is True
    assert cfg["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_session_cookie_carries_the_secure_flag_when_configured(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    resp = client.post("/login", data={"login": "hp_officer", "password": "Test@Pass2026"})
    cookies = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith("ducha_session=")]
    assert cookies and "Secure" in cookies[0] and "HttpOnly" in cookies[0] and "SameSite=Lax" in cookies[0]


def test_hsts_in_production_only(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
