"""Backup and restore: one archive holding the database, the files and the keys (wrapped by a passphrase).

    flask --app wsgi ducha backup  [--out DIR]              -> DIR/ducha-backup-<UTC time>.tar.gz
    flask --app wsgi ducha restore ARCHIVE --yes

The archive (tar.gz) holds:
- `manifest.json`: when, which database dialect, the schema revision, the audit chain's last id, and
  the SM3 digest of every other member (checked before anything is restored);
- the database: `database.dump` (`pg_dump --format=custom`, restored with `pg_restore --clean
  --single-transaction`) on PostgreSQL, `database.sqlite3` (SQLite's online backup API, a consistent
  copy while the app runs) on SQLite;
- `files/uploads/...` and `files/documents/...`: the objects under ``uploads/`` and ``documents/`` of the
  configured store (app/storage: the file store or S3, plus files of the old folders not yet migrated),
  unless BACKUP_FILES is ``none`` (see below); and the audit checkpoint file and its log (`audit/`), so
  the restored chain verifies against its own checkpoint;
- `keys.enc`: the key directory (the key-encryption key of FileKeyProvider) as a tar, encrypted with
  SM4-GCM under a key derived from the passphrase by PBKDF2-HMAC-SM3 (600,000 iterations, random salt).
  Without the passphrase the archive gives no access to encrypted columns.
Video recordings (``recordings/``) and exports (``exports/``, re-made on demand) are not archived: they stay
in the object store (MinIO/S3 with versioning and replication, docs/operations.md).

With S3 and many files, set DUCHA_BACKUP_FILES=none: the archive then holds no files (its manifest says
``"files": "object-store"``), the bucket's versioning and replication keep them, and a restore leaves the
bucket as it is. With ``archive`` (the default) a restore empties ``uploads/`` and ``documents/`` of the
configured store and writes the archive's files there, whichever store the archive was made from.

Restore first decrypts the keys and checks every digest; a wrong passphrase or a damaged archive stops
it before anything is touched (a Chinese message, exit code 1).

Both directions stream: the database dump and every file go through in chunks of CHUNK bytes (a backup of
many GB is made and restored in bounded memory); only the manifest, the wrapped keys and the audit
checkpoint files are held whole. A restore reads the archive twice: once to check every digest, once to
restore. The format is unchanged (FORMAT 1): archives made before stream the same way.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from flask import Flask
from sqlalchemy import make_url, text

from app.errors import ValidationFailed
from app.extensions import db
from app.models_base import utcnow
from app.security.sm import sm3, sm4_gcm_decrypt, sm4_gcm_encrypt
from app.storage import BadKey, get_storage

log = logging.getLogger(__name__)

FORMAT = 1
FILE_PREFIXES = ("uploads/", "documents/")
KDF_ITERATIONS = 600_000
CHUNK = 1024 * 1024  # bytes copied at a time between the archive, the database dump and the store


class BackupError(ValidationFailed):
    """The archive cannot be restored (wrong passphrase, damaged, other database kind)."""


@dataclass
class Layout:
    uploads: Path
    documents: Path
    keys: Path
    checkpoint: Path
    checkpoint_log: Path


def layout(app: Flask) -> Layout:
    from app.audit.checkpoint import checkpoint_path, log_path

    cfg = app.config
    instance = Path(cfg["INSTANCE_DIR"])
    return Layout(
        uploads=Path(cfg["UPLOAD_DIR"]),
        documents=instance / "documents",
        keys=Path(cfg.get("KEY_DIR") or instance / "keys"),
        checkpoint=checkpoint_path(app),
        checkpoint_log=log_path(app),
    )


def _derive(passphrase: str, salt: bytes, iterations: int) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SM3(), length=16, salt=salt, iterations=iterations)
    return kdf.derive(passphrase.encode("utf-8"))


def wrap(data: bytes, passphrase: str, iterations: int = KDF_ITERATIONS) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    header = json.dumps({"kdf": "pbkdf2-hmac-sm3", "iterations": iterations, "cipher": "sm4-gcm"}).encode()
    body = sm4_gcm_encrypt(_derive(passphrase, salt, iterations), nonce, data, aad=header)
    return len(header).to_bytes(2, "big") + header + salt + nonce + body


def unwrap(blob: bytes, passphrase: str) -> bytes:
    size = int.from_bytes(blob[:2], "big")
    header = blob[2 : 2 + size]
    meta = json.loads(header)
    salt, nonce, body = blob[2 + size : 18 + size], blob[18 + size : 30 + size], blob[30 + size :]
    try:
        return sm4_gcm_decrypt(_derive(passphrase, salt, int(meta["iterations"])), nonce, body, aad=header)
    except InvalidTag as exc:
        raise BackupError("备份口令错误，或备份文件的密钥部分已损坏，未做任何恢复") from exc


def _tar_dir(path: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        if path.is_dir():
            for item in sorted(path.rglob("*")):
                if item.is_file() and not item.is_symlink():
                    tar.add(item, arcname=str(item.relative_to(path)))
    return buf.getvalue()


def _libpq_url(uri: str) -> str:
    return make_url(uri).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(uri: str) -> Path:
    database = make_url(uri).database
    if not database or database == ":memory:":
        raise BackupError("内存数据库无法备份")
    return Path(database)


def _dump_database(uri: str, dest: Path) -> str:
    if uri.startswith("postgresql"):
        subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={dest}", _libpq_url(uri)],
            check=True,
            capture_output=True,
        )
        return "database.dump"
    src = sqlite3.connect(_sqlite_path(uri))
    out = sqlite3.connect(dest)
    try:
        src.backup(out)  # consistent even while the app writes
    finally:
        out.close()
        src.close()
    return "database.sqlite3"


def create_backup(app: Flask, out_dir: Path, passphrase: str) -> Path:
    """Write one archive into `out_dir`; return its path. Runs inside an app context."""
    if len(passphrase) < 12:
        raise BackupError("备份口令至少 12 个字符")
    places = layout(app)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    with db.engine.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        last_audit = conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_entries")).scalar()
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    target = out_dir / f"ducha-backup-{stamp}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="ducha-backup-") as tmp:
        dump = Path(tmp) / "db"
        name = _dump_database(uri, dump)
        small: dict[str, bytes] = {"keys.enc": wrap(_tar_dir(places.keys), passphrase)}
        for label, path in (("checkpoint", places.checkpoint), ("checkpoint.log", places.checkpoint_log)):
            if path.is_file():
                small[f"audit/{label}"] = path.read_bytes()
        files_mode = _files_mode(app)
        digests: dict[str, str] = {}
        partial = target.with_suffix(".partial")
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            with dump.open("rb") as handle:
                digests[name] = _add_stream(tar, name, handle, dump.stat().st_size)
            for arcname, data in small.items():
                digests[arcname] = _add_stream(tar, arcname, io.BytesIO(data), len(data))
            if files_mode == "archive":  # one object at a time, in chunks: the archive is written as it is read
                store = get_storage()
                for prefix in FILE_PREFIXES:
                    for key in store.iter_keys(prefix):
                        digests[f"files/{key}"] = _add_object(tar, store, key)
            manifest = {
                "format": FORMAT,
                "created_at": utcnow().isoformat(),
                "dialect": "postgresql" if uri.startswith("postgresql") else "sqlite",
                "revision": sorted(revision),
                "audit_last_id": last_audit,
                "files": "archive" if files_mode == "archive" else "object-store",
                "digests": digests,
            }
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            _add_stream(tar, "manifest.json", io.BytesIO(data), len(data))
        os.chmod(partial, 0o600)
        partial.rename(target)  # a half-written archive never carries the final name
    return target


def _files_mode(app: Flask) -> str:
    mode = (app.config.get("BACKUP_FILES") or "archive").lower()
    if mode not in ("archive", "none"):
        raise BackupError(f"BACKUP_FILES 只能是 archive 或 none，当前为 {mode}")
    return mode


class _Digesting:
    """A reader that computes the SM3 digest of what passes through it."""

    def __init__(self, raw: BinaryIO):
        self.raw, self.size = raw, 0
        self._hash = hashes.Hash(hashes.SM3())

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n if n is not None and n >= 0 else CHUNK)
        self._hash.update(data)
        self.size += len(data)
        return data

    def hexdigest(self) -> str:
        return self._hash.finalize().hex()


def _add_stream(tar: tarfile.TarFile, name: str, handle: BinaryIO, size: int) -> str:
    """Copy `size` bytes of `handle` into the archive in chunks; return their SM3 digest."""
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(utcnow().timestamp())
    reader = _Digesting(handle)
    tar.addfile(info, reader)
    return reader.hexdigest()


def _add_object(tar: tarfile.TarFile, store, key: str) -> str:
    with store.open_stream(key) as handle:
        # A local file's own size (the one that is read, even if the key is replaced meanwhile); an S3 body's
        # fileno() is its socket, so objects take the store's size.
        size = os.fstat(handle.fileno()).st_size if isinstance(handle, io.BufferedReader) else store.size(key)
        return _add_stream(tar, f"files/{key}", handle, size)


# Members held whole while an archive is read (small); everything else is streamed.
SMALL_MEMBERS = ("manifest.json", "keys.enc", "audit/checkpoint", "audit/checkpoint.log")


def _members(archive: Path) -> Iterator[tuple[tarfile.TarInfo, BinaryIO]]:
    """Each member of the archive with a reader of its content, in order, in one sequential pass."""
    try:
        with tarfile.open(archive, "r|gz") as tar:
            for info in tar:
                if not info.isfile() or info.name.startswith("/") or ".." in Path(info.name).parts:
                    raise BackupError(f"备份文件含有不允许的条目：{info.name}")
                yield info, tar.extractfile(info)
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        raise BackupError("备份文件无法读取（不存在或已损坏）") from exc


def read_archive(archive: Path, passphrase: str) -> tuple[dict, dict[str, bytes], bytes]:
    """Check an archive in one streamed pass: (manifest, its small members, the decrypted keys tar).

    Every member's SM3 digest is computed in chunks and compared with the manifest; raises BackupError."""
    small: dict[str, bytes] = {}
    digests: dict[str, str] = {}
    try:
        for info, handle in _members(archive):
            if info.name in digests:
                raise BackupError(f"备份文件含有重复的条目：{info.name}")
            if info.name in SMALL_MEMBERS:
                small[info.name] = handle.read()
                digests[info.name] = sm3(small[info.name]).hex()
                continue
            reader = _Digesting(handle)
            while reader.read(CHUNK):
                pass
            digests[info.name] = reader.hexdigest()
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:  # cut off or damaged inside a member
        raise BackupError("备份文件无法读取（不存在或已损坏）") from exc
    if "manifest.json" not in small:
        raise BackupError("备份文件缺少清单 manifest.json")
    manifest = json.loads(small.pop("manifest.json"))
    digests.pop("manifest.json")
    if set(manifest.get("digests", {})) != set(digests) or "keys.enc" not in small:
        raise BackupError("备份文件的条目与清单不符")
    for name, digest in digests.items():
        if digest != manifest["digests"][name]:
            raise BackupError(f"备份文件已损坏：{name} 的摘要不符")
    keys = unwrap(small.pop("keys.enc"), passphrase)
    return manifest, small, keys


def _empty_store(store) -> None:
    """Empty uploads/ and documents/ of the configured store (and the old folders)."""
    for prefix in FILE_PREFIXES:
        for key in list(store.iter_keys(prefix)):
            store.delete(key)


def _restore_database(uri: str, name: str, handle: BinaryIO) -> None:
    """Copy the dump out of the archive in chunks and load it into the configured database."""
    with tempfile.TemporaryDirectory(prefix="ducha-restore-") as tmp:
        copy = Path(tmp) / name
        with copy.open("wb") as out:
            shutil.copyfileobj(handle, out, CHUNK)
        if name == "database.dump":
            done = subprocess.run(
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                    "--exit-on-error",
                    f"--dbname={_libpq_url(uri)}",
                    str(copy),
                ],
                capture_output=True,
                text=True,
            )
            if done.returncode:
                raise BackupError("数据库恢复失败：" + done.stderr.strip()[-500:])
            return
        src, dst = sqlite3.connect(copy), sqlite3.connect(_sqlite_path(uri))
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()


def restore_backup(app: Flask, archive: Path, passphrase: str) -> dict:
    """Replace the database, files and keys with the archive's; return the manifest."""
    manifest, small, keys = read_archive(archive, passphrase)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    dialect = "postgresql" if uri.startswith("postgresql") else "sqlite"
    if manifest["dialect"] != dialect:
        raise BackupError(f"备份来自 {manifest['dialect']} 数据库，当前为 {dialect}，无法直接恢复")
    places = layout(app)
    db.session.remove()
    db.engine.dispose()
    with_files = manifest.get("files", "archive") == "archive"
    store = get_storage() if with_files else None
    emptied = False
    for info, handle in _members(archive):  # the second pass: checked above, now restored in chunks
        if info.name in ("database.dump", "database.sqlite3"):
            _restore_database(uri, info.name, handle)
        elif with_files and info.name.startswith("files/") and info.name[6:].startswith(FILE_PREFIXES):
            if not emptied:
                _empty_store(store)
                emptied = True
            try:
                store.put(info.name[6:], handle)
            except BadKey:  # an old archive's file whose name is no valid key (it was never downloadable)
                log.warning("restore: skipped %s (not a valid storage key)", info.name)
    if with_files and not emptied:  # an archive without files: the store ends up as empty as it was then
        _empty_store(store)
    places.keys.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(keys), mode="r") as tar:
        tar.extractall(places.keys, filter="data")
    for label, path in (("checkpoint", places.checkpoint), ("checkpoint.log", places.checkpoint_log)):
        data = small.get(f"audit/{label}")
        if data is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        elif path.exists():
            path.unlink()
    return manifest
