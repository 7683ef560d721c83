"""Attacks on login (issue 14): a TOTP code accepted twice by concurrent logins; whether a login exists
leaking through the message or the CPU cost; per-address throttling counted per worker."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pyotp
import time_machine
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from tests.conftest import TEST_PASSWORD, page_text
from tests.test_security_login import _enrol_via_pages


def test_one_totp_code_is_accepted_once_even_at_the_same_moment(app, client, auth, monkeypatch):
    from app.security import totp

    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        auth.login("hp_officer")
        secret, _ = _enrol_via_pages(client)
        client.post("/logout")
        clock.shift(timedelta(seconds=30))
        code = pyotp.TOTP(secret).now()
        clients = [app.test_client() for _ in range(2)]
        for c in clients:
            assert "/login/verify" in c.post("/login", data={"login": "hp_officer", "password": TEST_PASSWORD}).location

        # Both requests check the code before either stores the step: the race the attacker wins by timing.
        barrier = threading.Barrier(2, timeout=10)
        original = totp._match_step

        def racing(*args, **kwargs):
            step = original(*args, **kwargs)
            barrier.wait()
            return step

        monkeypatch.setattr(totp, "_match_step", racing)
        results: list[int] = []

        def attempt(c):
            results.append(c.post("/login/verify", data={"code": code}).status_code)

        threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(results) == [302, 401], results
    with app.app_context():
        logins = db.session.scalar(
            select(func.count()).where(AuditEntry.action == "login", AuditEntry.actor_login == "hp_officer")
        )
        assert logins == 2  # the password login before enrolment, and one of the two racing logins


def test_replayed_recovery_code_is_refused(app, client, auth):
    auth.login("hp_officer")
    _, codes = _enrol_via_pages(client)
    client.post("/logout")
    auth.login("hp_officer")
    assert client.post("/login/verify", data={"code": codes[3]}).status_code == 302
    other = app.test_client()
    other.post("/login", data={"login": "hp_officer", "password": TEST_PASSWORD})
    assert "动态口令不正确" in page_text(other.post("/login/verify", data={"code": codes[3]}))


def _kdf_counter(monkeypatch):
    """Count PBKDF2 derivations (the CPU cost of a login attempt)."""
    from app.security import passwords

    calls = []
    original = passwords._derive

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(passwords, "_derive", counting)
    return calls


def _failure(client, login: str, calls: list) -> tuple[str, int]:
    before = len(calls)
    resp = client.post("/login", data={"login": login, "password": "Wrong#Pass2026"})
    assert resp.status_code == 401
    text = page_text(resp)
    message = text.split('role="alert">')[-1].split("<")[0].strip() if 'role="alert">' in text else text
    return message, len(calls) - before


def test_unknown_wrong_and_locked_logins_look_and_cost_the_same(app, client, monkeypatch):
    with app.app_context():
        from app.auth.services import _dummy_hash

        _dummy_hash()  # made once per setting, as after the first unknown login of a worker
    calls = _kdf_counter(monkeypatch)
    unknown = _failure(client, "no_such_user", calls)
    wrong = _failure(client, "hp_officer", calls)
    with app.app_context():
        from app.models_base import utcnow
        from tests.conftest import user

        u = user("xh_officer")
        u.locked_until = utcnow() + timedelta(minutes=30)
        db.session.commit()
    locked = _failure(client, "xh_officer", calls)
    assert unknown == wrong == locked, (unknown, wrong, locked)
    assert unknown[1] == 1  # exactly one key derivation each way
    assert "登录名或密码错误" in unknown[0]
