"""The audit chain's checkpoint kept outside the database.

The chain (each entry's HMAC-SM3 covers the previous one) exposes edits and deletions in the middle,
but not rows cut off the end together with the `audit_head` row: whoever can delete rows can update
that row too. So after every commit that appended entries (and after each verification) the latest
(id, mac) is written, HMAC-protected, to a file in the instance directory (AUDIT_CHECKPOINT_PATH).
Verification then requires the entry named there to exist with that value. The file only moves
forward; when several processes race, it may lag a little behind the table, never run ahead of it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
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
    """Called by audit.record(): remember the tail so it is written once the transaction commits."""
    session.info[PENDING_KEY] = (str(checkpoint_path()), current_app.config["AUDIT_KEY"], last_id, last_mac)


def _after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if pending:
        path, key, last_id, last_mac = pending
        try:
            write(Path(path), key, last_id, last_mac)
        except OSError:
            # The transaction is committed; a lagging checkpoint is caught up by the next append or verify.
            log.exception("could not write the audit checkpoint %s", path)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def install(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
