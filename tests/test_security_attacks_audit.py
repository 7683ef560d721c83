"""Attack: an older sealed audit checkpoint put back together with deleted newer rows (issue 14).

The attacker keeps a copy of the checkpoint file, later deletes the newest audit rows, makes audit_head
agree, and puts the old (validly sealed) file back: the chain and the file agree with each other. The
checkpoint log (append-only, outside the database) knows a later checkpoint, so 校验审计链 reports it."""

from __future__ import annotations

from sqlalchemy import func, select, text

from app.audit import checkpoint
from app.audit import services as audit
from app.audit.models import AuditEntry
from app.extensions import db
from tests.conftest import page_text
from tests.test_security_audit import _as_dba, _fill


def test_restored_old_checkpoint_with_deleted_rows_is_detected(app, login_as):
    with app.app_context():
        _fill(3)
        assert audit.verify().ok
        db.session.commit()
        path = checkpoint.checkpoint_path()
        old_file = path.read_bytes()
        old = checkpoint.read(path, app.config["AUDIT_KEY"])
        _fill(4)  # newer activity the attacker wants to hide
        newest = db.session.scalar(select(func.max(AuditEntry.id)))
        assert checkpoint.read(path, app.config["AUDIT_KEY"]).seq > old.seq
        keep = db.session.get(AuditEntry, old.last_id)
        with _as_dba():
            db.session.execute(text("DELETE FROM audit_entries WHERE id > :id"), {"id": old.last_id})
            db.session.execute(
                text("UPDATE audit_head SET last_id = :i, last_mac = :m WHERE id = 1"), {"i": keep.id, "m": keep.mac}
            )
        db.session.commit()
        path.write_bytes(old_file)  # the old, validly sealed checkpoint is put back
        # verified right away: the file is behind the log
        assert any("外部检查点被回退" in p for p in audit.verify().problems)
    # ... and after the application went on writing (the auditor's own login moved the file forward):
    resp = login_as("auditor").post("/audit/verify")
    text_ = page_text(resp)
    assert "审计链完整" not in text_
    assert f"检查点日志记到第 {newest} 条" in text_ and "末尾记录被删除" in text_


def test_log_lines_cannot_be_edited(app, ctx):
    _fill(2)
    log = checkpoint.log_path()
    lines = log.read_text().splitlines()
    assert lines and '"seq"' in lines[-1]
    log.write_text("\n".join([*lines[:-1], lines[-1].replace('"last_id": ', '"last_id": 1')]) + "\n")
    assert "外部检查点日志已损坏或被改动" in audit.verify().problems
