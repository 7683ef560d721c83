"""The audit chain's checkpoint kept outside the database.

The chain (each entry's HMAC-SM3 covers the previous one) exposes edits and deletions in the middle,
but not rows cut off the end together with the `audit_head` row: whoever can delete rows can update
that row too. So after commits that appended entries (at most once per AUDIT_CHECKPOINT_INTERVAL seconds per
process), in every scheduler round (from `audit_head`) and after each verification, the latest
(id, mac) is written, HMAC-protected, to a file in the instance directory (AUDIT_CHECKPOINT_PATH).
Verification then requires the entry named there to exist with that value. The file only moves
forward; when several processes race, it may lag a little behind the table, never run ahead of it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.models_base import utcnow
from app.security.sm import hmac_sm3

PENDING_KEY = "ducha_audit_tail"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkpoint:
    last_id: int
    last_mac: str


def checkpoint_path(app: Flask | None = None) -> Path:
    cfg = (app or current_app).config
    return Path(cfg.get("AUDIT_CHECKPOINT_PATH") or Path(cfg["INSTANCE_DIR"]) / "audit-checkpoint.json")


def _seal(key: str, last_id: int, last_mac: str) -> str:
    return hmac_sm3(key.encode("utf-8"), f"audit-checkpoint|{last_id}|{last_mac}".encode()).hex()


def read(path: Path, key: str) -> Checkpoint | None:
    """The checkpoint in the file; None when there is none; ValueError when it is damaged or forged."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    last_id, last_mac = int(data["last_id"]), str(data["last_mac"])
    if data.get("seal") != _seal(key, last_id, last_mac):
        raise ValueError("checkpoint seal does not match")
    return Checkpoint(last_id, last_mac)


def write(path: Path, key: str, last_id: int, last_mac: str, *, force: bool = False) -> None:
    """Move the checkpoint forward (atomically). A lower id is ignored unless `force`."""
    if not force:
        try:
            current = read(path, key)
        except (ValueError, KeyError, json.JSONDecodeError):
            current = None  # a damaged file is reported by verify; do not hide that by overwriting
            if path.exists():
                return
        if current is not None and current.last_id >= last_id:
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"last_id": last_id, "last_mac": last_mac, "written_at": utcnow().isoformat(), "seal": ""}
    body["seal"] = _seal(key, last_id, last_mac)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-checkpoint-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(body, fh)
    os.replace(tmp, path)


def remove(app: Flask | None = None) -> None:
    """Forget the checkpoint (test databases that are emptied between tests)."""
    checkpoint_path(app).unlink(missing_ok=True)


def note_append(session: Session, last_id: int, last_mac: str) -> None:
    """Called when audit entries are chained: remember the tail so it is written once the transaction commits."""
    cfg = current_app.config
    session.info[PENDING_KEY] = (str(checkpoint_path()), cfg["AUDIT_KEY"], last_id, last_mac, _interval(cfg))


def _interval(cfg) -> float:
    return float(cfg.get("AUDIT_CHECKPOINT_INTERVAL", 0) or 0)


# Per process: the newest committed tail not yet written, and when the file was last written.
_unwritten: dict[str, tuple[str, int, str]] = {}
_written_at: dict[str, float] = {}
_lock = threading.Lock()


def _after_commit(session: Session) -> None:
    """Write the committed tail, at most once per AUDIT_CHECKPOINT_INTERVAL seconds per process.

    With an interval (production default: 2 s) a burst of commits costs one file write, not one each;
    the newest tail is kept and written by the next commit after the interval, and every scheduler
    round catches the file up from `audit_head` (`catch_up`), so the file lags the table by at most
    the interval or one scheduler round; it never runs ahead of it.
    """
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    path, key, last_id, last_mac, interval = pending
    now = time.monotonic()
    with _lock:
        held = _unwritten.get(path)
        if held is None or held[1] < last_id:
            _unwritten[path] = (key, last_id, last_mac)
        if interval and now - _written_at.get(path, -1e9) < interval:
            return
        key, last_id, last_mac = _unwritten.pop(path)
        _written_at[path] = now
    _write_logged(Path(path), key, last_id, last_mac)


def _write_logged(path: Path, key: str, last_id: int, last_mac: str) -> None:
    try:
        write(path, key, last_id, last_mac)
    except OSError:
        # The transaction is committed; a lagging checkpoint is caught up by the next append or round.
        log.exception("could not write the audit checkpoint %s", path)


def catch_up(session: Session) -> bool:
    """Move the checkpoint to the committed `audit_head` (scheduler rounds). True when it moved."""
    from sqlalchemy import select

    from app.audit.models import AuditHead

    head = session.execute(select(AuditHead.last_id, AuditHead.last_mac).where(AuditHead.id == 1)).first()
    session.rollback()  # read only; do not keep a snapshot open
    path = checkpoint_path()
    with _lock:
        _unwritten.pop(str(path), None)
    if head is None or not head.last_id:
        return False
    key = current_app.config["AUDIT_KEY"]
    try:
        current = read(path, key)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        return False  # damaged: verification reports it; do not hide that by overwriting
    if current is not None and current.last_id >= head.last_id:
        return False
    _write_logged(path, key, head.last_id, head.last_mac)
    return True


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def install(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
