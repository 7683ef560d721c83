"""Uploaded files: a clean display name. The bytes go to app.storage (`app.storage.files.put_new`, removed
again on rollback); `write_file` below is the older local-disk helper, kept for callers not yet moved.

- `clean_filename(name)`: the name people see and download under. NFC-normalised, without NUL or other
  control characters (a NUL made the download answer a bare 500), without directories (`/` or `\\`),
  without leading dots, at most 200 characters; "附件" when nothing is left.
- `write_file(path, data)`: writes atomically (a `.part` file renamed into place) and removes the file
  again if the current database transaction rolls back (app/reports/txn.py), so a registration that fails
  after saving one upload leaves nothing on disk.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from app.reports.txn import after_rollback

MAX_NAME = 200


def clean_filename(name: str | None, default: str = "附件") -> str:
    text = unicodedata.normalize("NFC", name or "")
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")  # control, format, surrogate
    text = text.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".").strip()
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        text = (stem[: MAX_NAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else text[:MAX_NAME]
    return text or default


def write_file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)
    after_rollback(lambda: path.unlink(missing_ok=True))
    return path
