"""Test fixtures: one migrated database per session (SQLite file, or DATABASE_URL), emptied per test.

Fixtures follow the Flask tutorial: `app`, `client`, `runner`, and `auth.login(...)`.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db

TEST_PASSWORD = "Test@Pass2026"

# login -> (name, org code, roles, leader)
TEST_USERS = {
    "admin": ("系统管理员", "SHYJ", ["sys_admin"], False),
    "secadmin": ("安全管理员", "SHYJ", ["sec_admin"], False),
    "auditor": ("审计管理员", "SHYJ", ["audit_admin"], False),
    "procadmin": ("流程管理员", "SHYJ", ["process_admin"], False),
    "leader": ("周建国", "SHYJ", ["city_leader"], True),
    "chief": ("陈立新", "SHYJ-ZH", ["section_chief"], True),
    "city_officer": ("李晓峰", "SHYJ-ZH", ["city_officer"], False),
    "hp_leader": ("黄浦大队长", "310101", ["district_leader"], True),
    "hp_officer": ("黄浦队员", "310101", ["district_officer"], False),
    "hp_admin": ("黄浦管理员", "310101", ["sys_admin"], False),
    "xh_leader": ("徐汇大队长", "310104", ["district_leader"], True),
    "xh_officer": ("徐汇队员", "310104", ["district_officer"], False),
    "hp_street": ("黄浦街镇", "STREET:310101", ["street_officer"], False),
    "soe": ("久事安全经理", "SOE-JS", ["soe_officer"], True),
    "soe_unit": ("久事成员单位", "SOE-JS-01", ["soe_officer"], False),
}


def _database_url(tmp: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def _storage_config():
    """DUCHA_TEST_STORAGE=s3: the session app keeps its files in a bucket of moto's S3 server on loopback
    (tests/storage_support.py); otherwise the file store under the test's instance folder."""
    if os.environ.get("DUCHA_TEST_STORAGE", "file") != "s3":
        yield {}
        return
    from tests.storage_support import MotoServer, s3_config

    with MotoServer() as url:
        yield s3_config(url, "ducha-test")


def test_config(tmp: Path, database_url: str) -> dict:
    """The settings every test app shares: a database, an instance folder, fast passwords, no scheduler."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_DIR": str(tmp),
        "UPLOAD_DIR": str(tmp / "uploads"),
        "PASSWORD_ITERATIONS": 1000,
        "WTF_CSRF_ENABLED": False,
        "SCHEDULER_ENABLED": False,
        # Security tests switch these on themselves (tests/test_security_*.py).
        "TOTP_REQUIRED_PERMISSIONS": [],
        "LOGIN_RATE_LIMIT": "10000 per minute",
    }


test_config.__test__ = False  # a helper, not a test


@pytest.fixture(scope="session")
def app(_storage_config):
    tmp = Path(tempfile.mkdtemp(prefix="ducha-test-"))
    app = create_app(
        {
            **test_config(tmp, _database_url(tmp)),
            # The checkpoint file follows every commit here (production: at most every 2 s + each round).
            "AUDIT_CHECKPOINT_INTERVAL": 0,
            "JOBS_BACKOFF_SECONDS": 0.05,
            **_storage_config,
        }
    )
    with app.app_context():
        _reset_schema()
        from flask_migrate import upgrade

        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _reset_schema() -> None:
    """Start from an empty database so migrations run from scratch."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _empty_tables() -> None:
    from app.reports import jobs

    # Background jobs of the previous test run in threads with their own transactions: let them finish
    # first, or TRUNCATE waits for their locks while they wait for it.
    jobs.wait_for_jobs(60)
    db.session.rollback()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL lock_timeout = '60s'"))  # a stuck holder fails the test, not CI
        db.session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    else:
        for t in tables:
            db.session.execute(text(f'DELETE FROM "{t}"'))
    db.session.commit()
    from app.audit.checkpoint import remove

    remove()  # the audit chain starts again, so must its checkpoint outside the database


@pytest.fixture(autouse=True)
def _clean_db(request):
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        from app.engine.deploy import forget_versions
        from app.portal import workbench

        forget_versions()
        workbench.forget()
        _empty_tables()
        seed_base()
        db.session.commit()
    yield
    with app.app_context():
        db.session.rollback()
        db.session.remove()


def seed_base() -> dict:
    from app.auth.services import create_user
    from app.demo.reference import seed_orgs, seed_roles

    seed_roles()
    orgs = seed_orgs(districts=4, streets_per_district=2)
    users = {}
    for login, (name, org_code, roles, leader) in TEST_USERS.items():
        if org_code.startswith("STREET:"):
            district = orgs[org_code.split(":")[1]]
            org = min((o for o in orgs.values() if o.parent_id == district.id), key=lambda o: o.code)
        else:
            org = orgs[org_code]
        users[login] = create_user(
            login=login,
            name=name,
            org=org,
            password=TEST_PASSWORD,
            roles=roles,
            is_leader=leader,
            must_change_password=False,
        )
    return users


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An application context for service-level tests."""
    with app.app_context():
        yield


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, login: str = "admin", password: str = TEST_PASSWORD):
        return self._client.post("/login", data={"login": login, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def login_as(app):
    """Return a new logged-in test client for a user: several users act at once in scenario tests."""

    def make(login: str):
        c = app.test_client()
        resp = c.post("/login", data={"login": login, "password": TEST_PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return c

    return make


@pytest.fixture
def client_for(login_as):
    """One logged-in client per user for the whole test (a new login would end the user's older session)."""
    clients = {}

    def get(login: str):
        if login not in clients:
            clients[login] = login_as(login)
        return clients[login]

    return get


def user(login: str):
    from sqlalchemy import select

    from app.auth.models import User

    return db.session.scalar(select(User).where(User.login == login))


def page_text(resp) -> str:
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))


DATA = Path(__file__).parent / "data"


def deploy_test_process(name: str):
    """Deploy tests/data/workflows/<name>.bpmn with its forms and rules (inside an app context)."""
    from app.engine import deploy

    app = deploy.current_app
    saved = {k: app.config[k] for k in ("WORKFLOWS_DIR", "FORMS_DIR", "RULES_DIR")}
    app.config.update(
        WORKFLOWS_DIR=str(DATA / "workflows"), FORMS_DIR=str(DATA / "forms"), RULES_DIR=str(DATA / "rules")
    )
    try:
        version = deploy.deploy(deploy.sources_from_files(DATA / "workflows" / f"{name}.bpmn"))
    finally:
        app.config.update(saved)
    db.session.commit()
    return version


INTEROP = Path(__file__).resolve().parents[1] / ".." / "shared" / "interop"
MIWG_COUNT = 21


@pytest.fixture(scope="session")
def miwg() -> list[Path]:
    """The 21 MIWG reference files in ../shared/interop/miwg-reference (every test reading the folder uses this).

    When the folder is missing or incomplete, each test using it skips and the reason is printed.
    """
    folder = (INTEROP / "miwg-reference").resolve()
    files = sorted(folder.glob("*.bpmn")) if folder.is_dir() else []
    if len(files) != MIWG_COUNT:
        reason = f"MIWG reference folder missing or incomplete ({len(files)} of {MIWG_COUNT} files): {folder}"
        print(reason)
        pytest.skip(reason)
    return files


def xlsx_bytes(header: list, rows) -> bytes:
    """An XLSX workbook with a header row and the given rows (import tests)."""
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
