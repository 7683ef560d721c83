"""Retention purges (audit >= 180 days, ended sessions) keep the audit chain verifiable; backup and restore
bring back the database, files and keys, and the restored audit chain verifies."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select, text

from app.audit import services as audit
from app.audit.models import AuditAnchor, AuditEntry
from app.extensions import db
from app.models_base import utcnow
from app.ops import backup, retention


def _old_entries(n: int, days_ago: int) -> None:
    with time_machine.travel(utcnow() - timedelta(days=days_ago), tick=False):
        for i in range(n):
            audit.record("test.old", object_type="test", object_id=i, detail={"n": i})
            db.session.commit()


def test_audit_purge_keeps_the_chain_verifiable(app, ctx):
    _old_entries(4, days_ago=200)
    audit.record("test.new", detail={"kept": True})
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    assert audit.verify(reset_checkpoint=True).ok

    with pytest.raises(ValueError):
        retention.purge_audit(utcnow(), days=90)  # below the legal six months: refused
    removed = retention.purge_audit(utcnow(), days=180)
    db.session.commit()
    assert removed >= 4
    left = db.session.scalar(select(func.count()).select_from(AuditEntry))
    assert left == before - removed + 1  # + the audit.purged record itself
    assert not db.session.scalar(select(func.count()).where(AuditEntry.action == "test.old"))
    purged = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "audit.purged"))
    assert purged.detail["removed"] == removed
    result = audit.verify()
    assert result.ok, result.problems
    assert retention.purge_audit(utcnow(), days=180) == 0  # nothing more is old enough

    # A forged anchor (moved further, to hide entries cut off the start) is reported.
    anchor = db.session.scalar(select(AuditAnchor))
    anchor.through_mac = "f" * 64
    db.session.commit()
    result = audit.verify()
    assert not result.ok and any("锚点" in p for p in result.problems)


def test_audit_retention_zero_keeps_everything(app, ctx, monkeypatch):
    _old_entries(2, days_ago=400)
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 0)
    assert retention.purge_audit(utcnow()) == 0


def test_ended_sessions_purged_with_an_audit_record(app, ctx, client):
    from app.security.models import UserSession
    from tests.conftest import TEST_PASSWORD, user

    client.post("/login", data={"login": "hp_officer", "password": TEST_PASSWORD})
    client.post("/logout")
    client.post("/login", data={"login": "hp_officer", "password": TEST_PASSWORD})  # still active
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user("hp_officer").id)).all()
    ended = [r for r in rows if r.ended_at is not None]
    active = [r for r in rows if r.ended_at is None]
    assert ended and active
    assert retention.purge_sessions(utcnow(), days=30) == 0  # ended just now: kept
    for r in ended:
        r.ended_at = utcnow() - timedelta(days=31)
    db.session.commit()
    assert retention.purge_sessions(utcnow(), days=30) == len(ended)
    db.session.commit()
    assert {r.id for r in db.session.scalars(select(UserSession))} == {r.id for r in active}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "session.purged"))
    assert entry.detail["removed"] == len(ended)


def test_retention_runs_as_scheduler_round_jobs(app):
    from app.engine.cli import ROUND_EVERY, ROUND_JOBS

    assert ROUND_JOBS["retention.audit"] is retention.audit_job
    assert ROUND_JOBS["retention.sessions"] is retention.session_job
    assert ROUND_EVERY["retention.audit"] == 3600.0


def _needs_pg_tools(app) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and not (
        shutil.which("pg_dump") and shutil.which("pg_restore")
    ):
        reason = "pg_dump/pg_restore not installed (Debian: postgresql-client)"
        print(reason)
        pytest.skip(reason)


def test_backup_and_restore_bring_everything_back_and_the_chain_verifies(app, ctx, tmp_path):
    from app.orgs.models import Organisation

    _needs_pg_tools(app)

    from app.storage import get_storage

    places = backup.layout(app)
    store = get_storage()  # the file store, or S3 with DUCHA_TEST_STORAGE=s3
    store.put("uploads/evidence.txt", "现场照片说明".encode())
    places.uploads.mkdir(parents=True, exist_ok=True)  # a file of the old folder, not migrated yet
    (places.uploads / "legacy-evidence.txt").write_text("旧目录中的附件")
    audit.record("test.before_backup", detail={"x": 1})
    db.session.commit()
    assert audit.verify(reset_checkpoint=True).ok
    keys_before = {p.name: p.read_bytes() for p in places.keys.iterdir()} if places.keys.is_dir() else {}
    orgs_before = db.session.scalar(select(func.count()).select_from(Organisation))

    with pytest.raises(backup.BackupError, match="至少 12"):
        backup.create_backup(app, tmp_path, "short")
    archive = backup.create_backup(app, tmp_path, "correct horse battery")
    assert archive.exists() and archive.stat().st_mode & 0o777 == 0o600

    # After the backup: more work, a lost upload, a damaged key file.
    db.session.add(Organisation(code="AFTERBK", name="备份后新增", kind="street", path="/AFTERBK/"))
    audit.record("test.after_backup")
    db.session.commit()
    store.delete("uploads/evidence.txt")
    store.delete("uploads/legacy-evidence.txt")
    for p in places.keys.iterdir() if places.keys.is_dir() else []:
        p.write_bytes(b"damaged")

    # A wrong passphrase or a damaged archive changes nothing.
    with pytest.raises(backup.BackupError, match="口令错误"):
        backup.restore_backup(app, archive, "wrong passphrase!!")
    assert db.session.scalar(select(func.count()).where(Organisation.code == "AFTERBK")) == 1
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(archive.read_bytes()[:2000])
    with pytest.raises(backup.BackupError):
        backup.restore_backup(app, broken, "correct horse battery")

    manifest = backup.restore_backup(app, archive, "correct horse battery")
    db.session.remove()
    assert manifest["dialect"] == db.engine.dialect.name
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == orgs_before
    assert not db.session.scalar(select(func.count()).where(AuditEntry.action == "test.after_backup"))
    assert store.get("uploads/evidence.txt").decode() == "现场照片说明"
    assert store.get("uploads/legacy-evidence.txt").decode() == "旧目录中的附件"  # now in the store itself
    assert {p.name: p.read_bytes() for p in places.keys.iterdir()} == keys_before
    result = audit.verify()
    assert result.ok, result.problems
    assert result.last_id == manifest["audit_last_id"]
    assert db.session.scalar(text("SELECT count(*) FROM alembic_version")) == 1


def test_backup_cli_needs_yes_to_restore(app, runner, tmp_path, monkeypatch):
    _needs_pg_tools(app)
    monkeypatch.setenv("DUCHA_BACKUP_PASSPHRASE", "correct horse battery")
    out = runner.invoke(args=["ducha", "backup", "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    archive = next(Path(tmp_path).glob("ducha-backup-*.tar.gz"))
    refused = runner.invoke(args=["ducha", "restore", str(archive)])
    assert refused.exit_code == 1 and "--yes" in refused.output


def test_round_job_purges_by_the_configured_days(app, ctx, monkeypatch):
    _old_entries(3, days_ago=200)
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 365)
    retention.audit_job(utcnow())  # as the scheduler runs it: a savepoint, then the round's commit
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "test.old")) == 3
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 180)
    retention.audit_job(utcnow())
    db.session.commit()
    # Only old entries: all but the newest go (SQLite would give the next entry the id of a deleted newest).
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "test.old")) == 1
    result = audit.verify(reset_checkpoint=True)
    assert result.ok, result.problems
    audit.record("test.new")
    db.session.commit()
    assert audit.verify().ok
