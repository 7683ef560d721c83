"""Password policy (history, age, idle accounts), per-address throttling, and the TOTP second factor."""

from __future__ import annotations

import base64
import itertools
import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.auth import services
from app.errors import ValidationFailed
from app.extensions import db
from app.security import policy, totp
from app.security.limits import limiter
from app.security.models import PasswordHistory, RecoveryCode, UserTotp
from tests.conftest import TEST_PASSWORD, page_text, user

# --- password history and age -------------------------------------------------------------


def test_last_five_passwords_cannot_be_reused(ctx):
    me = user("hp_officer")
    passwords = [TEST_PASSWORD] + [f"New#Pass{i}x2026" for i in range(1, 6)]
    for old, new in itertools.pairwise(passwords):
        services.change_own_password(me, old_password=old, new_password=new)
        db.session.flush()
    assert len(db.session.scalars(select(PasswordHistory).where(PasswordHistory.user_id == me.id)).all()) == 5
    for reused in passwords[1:5]:
        with pytest.raises(ValidationFailed) as exc:
            services.change_own_password(me, old_password=passwords[-1], new_password=reused)
        assert "最近 5 次" in exc.value.errors["password"]
    # The sixth-newest is allowed again.
    services.change_own_password(me, old_password=passwords[-1], new_password=TEST_PASSWORD)


def test_history_is_shown_on_the_password_page(client, auth):
    auth.login("hp_officer")
    resp = client.post(
        "/account/password",
        data={"old_password": TEST_PASSWORD, "password": TEST_PASSWORD + "x", "password2": TEST_PASSWORD + "x"},
    )
    assert resp.status_code == 302
    back = client.post(
        "/account/password",
        data={"old_password": TEST_PASSWORD + "x", "password": TEST_PASSWORD, "password2": TEST_PASSWORD},
    )
    assert back.status_code == 422 and "最近 5 次" in page_text(back)


def test_password_older_than_90_days_must_be_changed(app, client):
    with time_machine.travel(datetime.now(UTC) + timedelta(days=91), tick=False):
        resp = client.post("/login", data={"login": "hp_officer", "password": TEST_PASSWORD})
        assert "/account/password" in resp.headers["Location"]
        assert "超过有效期" in page_text(client.get("/account/password"))
        forced = client.get("/")  # every other page sends the user back
        assert forced.status_code == 302 and "/account/password" in forced.headers["Location"]
        ok = client.post(
            "/account/password",
            data={"old_password": TEST_PASSWORD, "password": "Fresh#Pass2027", "password2": "Fresh#Pass2027"},
        )
        assert ok.status_code == 302
        assert client.get("/").status_code == 200


def test_forced_change_applies_to_json_requests(app, client):
    with time_machine.travel(datetime.now(UTC) + timedelta(days=91), tick=False):
        client.post("/login", data={"login": "hp_officer", "password": TEST_PASSWORD})
        resp = client.get("/", headers={"Accept": "application/json"})
        assert resp.status_code == 403 and "修改密码" in resp.get_json()["message"]


def test_disable_idle_accounts(app, runner, ctx):
    now = datetime.now(UTC)
    user("hp_officer").last_login_at = now - timedelta(days=100)
    user("xh_officer").last_login_at = now - timedelta(days=10)
    db.session.commit()
    dry = runner.invoke(args=["ducha", "security", "disable-idle", "--dry-run"])
    assert "would disable: hp_officer" in dry.output
    db.session.expire_all()
    assert user("hp_officer").status == "active"
    result = runner.invoke(args=["ducha", "security", "disable-idle"])
    assert result.exit_code == 0 and "disabled: hp_officer" in result.output and "1 idle accounts" in result.output
    db.session.expire_all()
    assert user("hp_officer").status == "disabled" and user("xh_officer").status == "active"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.disabled_idle"))
    assert entry.object_id == str(user("hp_officer").id)


def test_disable_idle_job_for_the_scheduler(app):
    with app.app_context():
        user("soe_unit").created_at = datetime.now(UTC) - timedelta(days=91)  # never logged in
        db.session.commit()
    assert policy.run_disable_idle(app) == 1
    with app.app_context():
        assert user("soe_unit").status == "disabled"
    assert policy.run_disable_idle(app) == 0


def test_disabled_account_cannot_log_in(app, client, ctx):
    user("hp_officer").status = "disabled"
    db.session.commit()
    resp = client.post("/login", data={"login": "hp_officer", "password": TEST_PASSWORD})
    assert resp.status_code == 401 and "停用" in page_text(resp)


# --- per-address throttling ---------------------------------------------------------------


@pytest.fixture
def throttled(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    limiter.reset()
    yield
    limiter.reset()


def test_login_is_throttled_per_address(client, throttled):
    for login in ("nobody", "hp_officer", "xh_officer"):
        assert client.post("/login", data={"login": login, "password": "wrong"}).status_code == 401
    # The fourth attempt from this address is refused even with the right password.
    resp = client.post("/login", data={"login": "hp_officer", "password": TEST_PASSWORD})
    assert resp.status_code == 429
    assert "登录尝试过于频繁" in page_text(resp)
    unknown = client.post("/login", data={"login": "nobody", "password": "x"})
    assert page_text(unknown) == page_text(resp)  # says nothing about whether the login exists
    assert client.get("/login").status_code == 200  # only POST is counted


def test_throttle_counts_per_address(app, throttled):
    a, b = app.test_client(), app.test_client()
    for _ in range(3):
        a.post("/login", data={"login": "x", "password": "y"}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert a.post("/login", data={"login": "x"}, environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 429
    other = {"REMOTE_ADDR": "10.0.0.2"}
    ok = b.post("/login", data={"login": "hp_officer", "password": TEST_PASSWORD}, environ_base=other)
    assert ok.status_code == 302


# --- TOTP ---------------------------------------------------------------------------------


def test_rfc6238_vector():
    # RFC 6238 Appendix B, SHA-1, T = 59 s, 8 digits.
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert pyotp.TOTP(secret, digits=8).at(59) == "94287082"
    assert pyotp.TOTP(secret, digits=8).at(1111111109) == "07081804"
    # The login check uses the same algorithm (6 digits): T = 59 s is time step 1.
    assert totp._match_step(secret, pyotp.TOTP(secret).at(59), _at(59), 0) == 1
    assert totp._match_step(secret, pyotp.TOTP(secret).at(59), _at(59), after_step=1) is None  # used once


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _enrol_via_pages(client) -> tuple[str, list[str]]:
    page = client.get("/account/totp")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'src="data:image/svg+xml' in html  # QR code rendered server-side, no script needed
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', html).group(1)
    bad = client.post("/account/totp", data={"code": "000000"})
    assert bad.status_code == 422 and "动态口令不正确" in page_text(bad)
    done = client.post("/account/totp", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200 and "只显示这一次" in page_text(done)
    codes = re.findall(r"<li class=\"col-6 mb-1\">([a-z0-9-]+)</li>", done.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def test_enrolment_and_login_with_a_code(app, client, auth):
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        auth.login("hp_officer")
        secret, codes = _enrol_via_pages(client)
        with app.app_context():
            row = db.session.get(UserTotp, user("hp_officer").id)
            assert row.confirmed_at is not None
            assert secret not in row.secret_enc and row.secret_enc.startswith("ENC1:")
            hashes = db.session.scalars(select(RecoveryCode.code_hash)).all()
            assert len(hashes) == 10 and not set(codes) & set(hashes)
        client.post("/logout")

        resp = auth.login("hp_officer")
        assert resp.status_code == 302 and "/login/verify" in resp.headers["Location"]
        assert client.get("/").status_code == 302  # the password alone does not log in
        assert client.get_cookie("ducha_session") is None
        wrong = client.post("/login/verify", data={"code": "123456"})
        assert wrong.status_code == 401 and "动态口令不正确" in page_text(wrong)
        # The code used for enrolment is not accepted again (same time step).
        replay = client.post("/login/verify", data={"code": pyotp.TOTP(secret).now()})
        assert replay.status_code == 401
        clock.shift(timedelta(seconds=30))
        ok = client.post("/login/verify", data={"code": pyotp.TOTP(secret).now()})
        assert ok.status_code == 302 and client.get("/").status_code == 200
        with app.app_context():
            entry = db.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "login").order_by(AuditEntry.id.desc())
            ).first()
            assert entry.detail == {"method": "totp"}


def test_recovery_code_logs_in_once(app, client, auth):
    auth.login("hp_officer")
    _, codes = _enrol_via_pages(client)
    client.post("/logout")
    auth.login("hp_officer")
    ok = client.post("/login/verify", data={"code": codes[0].upper()})
    assert ok.status_code == 302
    assert "剩余 9 个" in page_text(client.get("/"))
    client.post("/logout")
    auth.login("hp_officer")
    assert client.post("/login/verify", data={"code": codes[0]}).status_code == 401


def test_code_guessing_locks_the_account(app, client, auth):
    auth.login("hp_officer")
    _enrol_via_pages(client)
    client.post("/logout")
    auth.login("hp_officer")
    for _ in range(5):
        client.post("/login/verify", data={"code": "000000"})
    locked = client.post("/login/verify", data={"code": "000000"})
    assert "锁定" in page_text(locked)
    # Re-entering the password does not reset the count.
    assert auth.login("hp_officer").status_code == 401


def test_verify_step_needs_a_pending_password_login(client):
    resp = client.get("/login/verify")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_pending_second_factor_expires(app, client, auth):
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        auth.login("hp_officer")
        secret, _ = _enrol_via_pages(client)
        client.post("/logout")
        auth.login("hp_officer")
        clock.shift(timedelta(minutes=6))
        resp = client.post("/login/verify", data={"code": pyotp.TOTP(secret).now()})
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


@pytest.fixture
def totp_required(app, monkeypatch):
    monkeypatch.setitem(
        app.config,
        "TOTP_REQUIRED_PERMISSIONS",
        ["process.admin", "user.admin", "role.admin", "security.admin", "audit.read"],
    )


def test_privileged_roles_must_enrol(app, client, auth, totp_required):
    resp = auth.login("auditor")
    assert "/account/totp" in resp.headers["Location"]
    forced = client.get("/audit")
    assert forced.status_code == 302 and "/account/totp" in forced.headers["Location"]
    assert "角色要求" in page_text(client.get("/account/totp"))
    _enrol_via_pages(client)
    assert client.get("/audit").status_code == 200


def test_unprivileged_roles_need_not_enrol(client, auth, totp_required):
    resp = auth.login("hp_officer")
    assert resp.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_default_required_permissions(app):
    from app.config import load_config

    assert set(load_config()["TOTP_REQUIRED_PERMISSIONS"]) == {
        "process.admin",
        "user.admin",
        "role.admin",
        "security.admin",
        "audit.read",
    }


def test_security_admin_resets_a_second_factor(app, client, auth, login_as):
    auth.login("hp_officer")
    _enrol_via_pages(client)
    sec = login_as("secadmin")
    page = sec.get("/security/users?q=hp_officer")
    assert page.status_code == 200 and "已绑定" in page_text(page)
    with app.app_context():
        uid = user("hp_officer").id
    assert sec.post(f"/security/users/{uid}/totp/reset").status_code == 302
    with app.app_context():
        assert not totp.is_enrolled(user("hp_officer"))
    assert login_as("hp_officer").get("/").status_code == 200  # password only again
    assert login_as("hp_admin").get("/security/users").status_code == 403


def test_regenerate_recovery_codes_needs_a_current_code(app, client, auth):
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        auth.login("hp_officer")
        secret, old_codes = _enrol_via_pages(client)
        assert "剩余恢复码" in page_text(client.get("/account/totp"))
        bad = client.post("/account/totp/recovery-codes", data={"code": "000000"})
        assert bad.status_code == 302
        clock.shift(timedelta(seconds=30))
        ok = client.post("/account/totp/recovery-codes", data={"code": pyotp.TOTP(secret).now()})
        new_codes = re.findall(r"<li class=\"col-6 mb-1\">([a-z0-9-]+)</li>", ok.get_data(as_text=True))
        assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
