"""The audit chain's checkpoint kept outside the database.

The chain (each entry's HMAC-SM3 covers the previous one) exposes edits and deletions in the middle,
but not rows cut off the end together with the `audit_head` row: whoever can delete rows can update
that row too. So after commits that appended entries (at most once per AUDIT_CHECKPOINT_INTERVAL seconds per
process), in every scheduler round (from `audit_head`) and after each verification, the latest
(id, mac) is written, HMAC-protected, to a file in the instance directory (AUDIT_CHECKPOINT_PATH).
Verification then requires the entry named there to exist with that value. The file only moves
forward; when several processes race, it may lag a little behind the table, never run ahead of it.

Rollback: an attacker who kept an older (validly sealed) checkpoint file could put it back together with
deleting the newer rows. So every checkpoint carries a monotonic sequence number, and every write is also
appended to a checkpoint log (AUDIT_CHECKPOINT_LOG_PATH, default `<checkpoint>.log`), one sealed line per
checkpoint, each seal chained to the previous line's. Verification reports a rollback when the log knows
a later checkpoint than the file, or entries beyond the table's end. Keep the log on append-only storage
(`chattr +a`, or shipped to the log server) so it cannot be cut back together with the file.
"""

from __future__ import annotations

import fcntl
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
    seq: int = 0


def checkpoint_path(app: Flask | None = None) -> Path:
    cfg = (app or current_app).config
    return Path(cfg.get("AUDIT_CHECKPOINT_PATH") or Path(cfg["INSTANCE_DIR"]) / "audit-checkpoint.json")


def log_path(app: Flask | None = None) -> Path:
    cfg = (app or current_app).config
    return Path(cfg.get("AUDIT_CHECKPOINT_LOG_PATH") or str(checkpoint_path(app)) + ".log")


def _seal(key: str, last_id: int, last_mac: str, seq: int | None = None) -> str:
    text = f"audit-checkpoint|{last_id}|{last_mac}" if seq is None else f"audit-checkpoint|{seq}|{last_id}|{last_mac}"
    return hmac_sm3(key.encode("utf-8"), text.encode()).hex()


def _line_seal(key: str, seq: int, last_id: int, last_mac: str, prev: str) -> str:
    return hmac_sm3(key.encode("utf-8"), f"audit-checkpoint-log|{seq}|{last_id}|{last_mac}|{prev}".encode()).hex()


def read_log(path: Path, key: str, marks: dict[int, str] | None = None) -> tuple[Checkpoint, Checkpoint] | None:
    """(the latest checkpoint, the one naming the highest entry) in the log, None if there is no log;
    ValueError when a line was altered or removed from the middle (the seals are chained). `marks`, when
    given, receives every logged entry id with its chain value (to check each against the table)."""
    if not path.exists():
        return None
    last, prev, highest = None, "", None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        data = json.loads(line)
        seq, last_id, last_mac = int(data["seq"]), int(data["last_id"]), str(data["last_mac"])
        if data.get("seal") != _line_seal(key, seq, last_id, last_mac, prev) or (last and seq <= last.seq):
            raise ValueError(f"checkpoint log line {number} does not match")
        last, prev = Checkpoint(last_id, last_mac, seq), data["seal"]
        if marks is not None:
            marks[last_id] = last_mac
        if highest is None or last_id > highest.last_id:
            highest = last
    return (last, highest) if last else None


def _tail(path: Path) -> dict | None:
    """The last line of the log, read from the end (the log grows by one line per commit)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 4096))
            lines = [x for x in fh.read().splitlines() if x.strip()]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError, IndexError):
        return None


def _append_log(path: Path, key: str, mark: Checkpoint, tail: dict | None) -> None:
    prev = str((tail or {}).get("seal", ""))
    seal = _line_seal(key, mark.seq, mark.last_id, mark.last_mac, prev)
    line = {"seq": mark.seq, "last_id": mark.last_id, "last_mac": mark.last_mac, "at": utcnow().isoformat()}
    with open(path, "a", encoding="utf-8") as fh:  # O_APPEND: never rewritten
        fh.write(json.dumps({**line, "seal": seal}) + "\n")


def read(path: Path, key: str) -> Checkpoint | None:
    """The checkpoint in the file; None when there is none; ValueError when it is damaged or forged."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    last_id, last_mac = int(data["last_id"]), str(data["last_mac"])
    seq = int(data["seq"]) if "seq" in data else None  # files written before the sequence: seq 0
    if data.get("seal") != _seal(key, last_id, last_mac, seq):
        raise ValueError("checkpoint seal does not match")
    return Checkpoint(last_id, last_mac, seq or 0)


def write(path: Path, key: str, last_id: int, last_mac: str, *, force: bool = False) -> None:
    """Move the checkpoint forward (atomically, under a file lock) and append it to the log.

    A lower id is ignored unless `force`; the sequence number always grows.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            current = read(path, key)
        except (ValueError, KeyError, json.JSONDecodeError):
            current = None  # a damaged file is reported by verify; do not hide that by overwriting
            if path.exists() and not force:
                return
        if not force and current is not None and current.last_id >= last_id:
            return
        tail = _tail(_log_for(path))
        seq = max(current.seq if current else 0, int((tail or {}).get("seq", 0))) + 1
        body = {"seq": seq, "last_id": last_id, "last_mac": last_mac, "written_at": utcnow().isoformat()}
        body["seal"] = _seal(key, last_id, last_mac, seq)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-checkpoint-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh)
        os.replace(tmp, path)
        _append_log(_log_for(path), key, Checkpoint(last_id, last_mac, seq), tail)


def _log_for(path: Path) -> Path:
    try:
        return log_path()
    except RuntimeError:  # outside an app context (CLI tools): beside the file
        return Path(str(path) + ".log")


def remove(app: Flask | None = None) -> None:
    """Forget the checkpoint and its log (test databases that are emptied between tests)."""
    checkpoint_path(app).unlink(missing_ok=True)
    log_path(app).unlink(missing_ok=True)


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
