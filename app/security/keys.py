"""Key management: data keys wrapped by a key-encryption key (KEK) behind the `KeyProvider` interface.

Data keys (SM4, 128 bits) live in `security_data_keys`, wrapped with SM4-GCM under the KEK, together
with the id of the KEK that wrapped them. The KEK never enters the database.

- `FileKeyProvider` (development and tests): the KEK is a random file `instance/keys/kek.key`,
  created on first use with mode 0600.
- Production plugs in a certified crypto module (a 密码机 / HSM, or a 密钥管理系统 client) by setting
  `DUCHA_KEY_PROVIDER=package.module:factory`, where `factory(app)` returns an object with
  `kek_id`, `wrap(key, context=...)`, `unwrap(wrapped, context=...)` and `new_data_key()`. SM2-based
  wrapping, if the module requires it, stays behind this interface (`cryptography` has no SM2).

Purposes: "field" keys encrypt columns and rotate (`flask ducha keys rotate`); "index" keys compute
blind indexes and do not rotate (every index would have to be recomputed from plaintext).
"""

from __future__ import annotations

import base64
import importlib
import os
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from flask import Flask, current_app
from sqlalchemy import func, select

from app.errors import DomainError
from app.extensions import db
from app.models_base import utcnow
from app.security.models import DataKey
from app.security.sm import GCM_NONCE_BYTES, SM4_KEY_BYTES, sm3, sm4_gcm_decrypt, sm4_gcm_encrypt

PURPOSES = ("field", "index")


class DecryptionFailed(DomainError):
    """Ciphertext altered, moved to another row/column, or the wrong key: refuse, never guess."""

    status = 500
    code = "decryption_failed"
    default_message = "加密数据校验失败（数据被篡改、被移动或密钥不正确），已拒绝解密"


class KeyUnavailable(DomainError):
    status = 500
    code = "key_unavailable"
    default_message = "加密密钥不可用，请联系安全管理员"


class KeyProvider(Protocol):
    """What the application needs from a key-encryption-key holder."""

    kek_id: str

    def wrap(self, key: bytes, *, context: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes: ...

    def new_data_key(self) -> bytes: ...


class FileKeyProvider:
    """Development KEK in a file. Not for production: a certified module must hold the KEK there."""

    def __init__(self, directory: str | Path):
        self.path = Path(directory) / "kek.key"
        self._kek: bytes | None = None

    def _load(self) -> bytes:
        if self._kek is None:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(os.urandom(SM4_KEY_BYTES))
            kek = self.path.read_bytes()
            if len(kek) != SM4_KEY_BYTES:
                raise KeyUnavailable("密钥加密密钥文件损坏")
            self._kek = kek
        return self._kek

    @property
    def kek_id(self) -> str:
        return "file:" + sm3(b"ducha-kek-id|" + self._load())[:8].hex()

    def wrap(self, key: bytes, *, context: bytes) -> bytes:
        nonce = os.urandom(GCM_NONCE_BYTES)
        return nonce + sm4_gcm_encrypt(self._load(), nonce, key, b"ducha-dek|" + context)

    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes:
        nonce, sealed = wrapped[:GCM_NONCE_BYTES], wrapped[GCM_NONCE_BYTES:]
        try:
            return sm4_gcm_decrypt(self._load(), nonce, sealed, b"ducha-dek|" + context)
        except (InvalidTag, ValueError) as exc:
            raise DecryptionFailed("数据密钥无法解封：密钥加密密钥不正确") from exc

    def new_data_key(self) -> bytes:
        return os.urandom(SM4_KEY_BYTES)


def build_provider(app: Flask) -> KeyProvider:
    spec = app.config.get("KEY_PROVIDER") or "file"
    if spec == "file":
        return FileKeyProvider(app.config.get("KEY_DIR") or Path(app.config["INSTANCE_DIR"]) / "keys")
    module_name, _, attr = spec.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory(app)


def provider() -> KeyProvider:
    ext = current_app.extensions
    if "ducha.key_provider" not in ext:
        ext["ducha.key_provider"] = build_provider(current_app)
    return ext["ducha.key_provider"]


def _context(purpose: str, version: int) -> bytes:
    return f"{purpose}|{version}".encode()


def _unwrap(row: DataKey) -> bytes:
    """Unwrap a data key; results are cached by the wrapped bytes, so a replaced row is never confused."""
    kp = provider()
    if row.kek_id != kp.kek_id:
        raise DecryptionFailed("数据密钥由另一把密钥加密密钥封装，当前密钥不匹配，已拒绝解密")
    cache = current_app.extensions.setdefault("ducha.key_cache", {})
    cache_key = (row.kek_id, row.purpose, row.version, row.wrapped)
    if cache_key not in cache:
        cache[cache_key] = kp.unwrap(base64.b64decode(row.wrapped), context=_context(row.purpose, row.version))
    return cache[cache_key]


def create_key(purpose: str) -> DataKey:
    """Add a new active version for the purpose and retire the previous active one (flushes)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown key purpose {purpose!r}")
    current = db.session.scalars(select(DataKey).where(DataKey.purpose == purpose, DataKey.status == "active"))
    latest = db.session.scalar(select(func.max(DataKey.version)).where(DataKey.purpose == purpose))
    version = (latest or 0) + 1
    now = utcnow()
    for old in current:
        old.status, old.retired_at = "retired", now
    kp = provider()
    wrapped = kp.wrap(kp.new_data_key(), context=_context(purpose, version))
    row = DataKey(
        purpose=purpose, version=version, wrapped=base64.b64encode(wrapped).decode(), kek_id=kp.kek_id, created_at=now
    )
    db.session.add(row)
    db.session.flush()
    return row


def active_key(purpose: str) -> tuple[int, bytes]:
    """The active (version, key) for a purpose, creating version 1 on first use."""
    row = db.session.scalar(
        select(DataKey).where(DataKey.purpose == purpose, DataKey.status == "active").order_by(DataKey.version.desc())
    )
    if row is None:
        row = create_key(purpose)
    return row.version, _unwrap(row)


def key_version(purpose: str, version: int) -> bytes:
    row = db.session.scalar(select(DataKey).where(DataKey.purpose == purpose, DataKey.version == version))
    if row is None:
        raise DecryptionFailed(f"找不到第 {version} 版数据密钥，无法解密")
    return _unwrap(row)


def key_status() -> list[DataKey]:
    return list(db.session.scalars(select(DataKey).order_by(DataKey.purpose, DataKey.version)))
