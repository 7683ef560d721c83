"""Field encryption (SM4-GCM), blind indexes (HMAC-SM3), key rotation and masking: the public crypto API.

    token = encrypt_field("310101199001011234", table="clues", column="id_number_enc", row_id=42)
    decrypt_field(token, table="clues", column="id_number_enc", row_id=42)

A token is `ENC1:k<version>:<nonce>:<ciphertext+tag>` (base64url, no padding): a random 96-bit nonce
per value, and associated data binding format, key version, table, column and row id. A value copied
to another row or column, edited, or read with another key fails the GCM tag and raises
`DecryptionFailed` (a domain error with a Chinese message); nothing is returned half-decrypted.

Columns that hold such tokens are registered with `register_encrypted_column(Model, "column")` so
`flask --app wsgi ducha keys rotate` can re-encrypt them under a new data-key version in batches.
The primitives (SM3, HMAC-SM3, SM4, SM4-GCM) are in `app/security/sm.py`; keys in `app/security/keys.py`.
"""

from __future__ import annotations

import base64
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from sqlalchemy import inspect, select

from app.extensions import db
from app.security.keys import DecryptionFailed, KeyUnavailable, active_key, create_key, key_version
from app.security.masking import mask_id_number, mask_name, mask_phone
from app.security.sm import GCM_NONCE_BYTES, hmac_sm3, sm3, sm4_gcm_decrypt, sm4_gcm_encrypt

__all__ = [
    "DecryptionFailed",
    "KeyUnavailable",
    "blind_index",
    "decrypt_field",
    "encrypt_field",
    "hmac_sm3",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "register_encrypted_column",
    "registered_columns",
    "rotate_field_keys",
    "sm3",
    "token_version",
]

FORMAT = "ENC1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _aad(version: int, table: str, column: str, row_id: object) -> bytes:
    return "|".join([FORMAT, f"k{version}", table, column, str(row_id)]).encode("utf-8")


def encrypt_field(plaintext: str, *, table: str, column: str, row_id: object) -> str:
    """Encrypt one value for one cell under the active field key (creates the first key on first use)."""
    if row_id is None:
        raise ValueError("encrypt_field needs the row id (flush the row first)")
    version, key = active_key("field")
    nonce = os.urandom(GCM_NONCE_BYTES)
    sealed = sm4_gcm_encrypt(key, nonce, plaintext.encode("utf-8"), _aad(version, table, column, row_id))
    return f"{FORMAT}:k{version}:{_b64(nonce)}:{_b64(sealed)}"


def token_version(token: str) -> int:
    """The data-key version a token was encrypted with."""
    try:
        fmt, kid, _, _ = token.split(":")
        if fmt != FORMAT or not kid.startswith("k"):
            raise ValueError
        return int(kid[1:])
    except (ValueError, AttributeError) as exc:
        raise DecryptionFailed("加密数据格式无效") from exc


def decrypt_field(token: str, *, table: str, column: str, row_id: object) -> str:
    """Decrypt a token for exactly the cell it was written for; `DecryptionFailed` otherwise."""
    version = token_version(token)
    _, _, nonce, sealed = token.split(":")
    key = key_version("field", version)
    try:
        plain = sm4_gcm_decrypt(key, _unb64(nonce), _unb64(sealed), _aad(version, table, column, row_id))
    except (InvalidTag, ValueError) as exc:
        raise DecryptionFailed() from exc
    return plain.decode("utf-8")


def blind_index(value: str, *, purpose: str) -> str:
    """A keyed HMAC-SM3 of the normalised value, for exact-match search over encrypted columns.

    `purpose` separates indexes (e.g. "clue.id_number"), so equal values in two columns do not match.
    """
    _, key = active_key("index")
    subkey = hmac_sm3(key, b"blind-index|" + purpose.encode("utf-8"))
    normalised = unicodedata.normalize("NFKC", value).strip()
    return hmac_sm3(subkey, normalised.encode("utf-8")).hex()


@dataclass(frozen=True)
class EncryptedColumn:
    model: type
    column: str

    @property
    def table(self) -> str:
        return self.model.__tablename__

    @property
    def pk(self):
        keys = inspect(self.model).primary_key
        if len(keys) != 1:
            raise ValueError(f"{self.table}: encrypted columns need a single-column primary key")
        return keys[0]


_REGISTRY: dict[tuple[str, str], EncryptedColumn] = {}


def register_encrypted_column(model: type, column: str) -> None:
    """Declare that `model.column` holds encrypt_field tokens (row id = the primary key)."""
    if not hasattr(model, column):
        raise ValueError(f"{model.__name__} has no column {column!r}")
    _REGISTRY[(model.__tablename__, column)] = EncryptedColumn(model, column)


def registered_columns() -> list[EncryptedColumn]:
    return list(_REGISTRY.values())


def rotate_field_keys(*, batch_size: int = 500, commit: Callable[[], None] | None = None) -> dict:
    """New field-key version, then re-encrypt every registered column in batches (commit after each)."""
    commit = commit or db.session.commit
    new = create_key("field")
    commit()
    counts: dict[str, int] = {}
    for col in registered_columns():
        pk, attr = col.pk, getattr(col.model, col.column)
        last = None
        done = 0
        while True:
            stmt = select(col.model).where(attr.is_not(None)).order_by(pk).limit(batch_size)
            if last is not None:
                stmt = stmt.where(pk > last)
            rows = db.session.scalars(stmt).all()
            if not rows:
                break
            for row in rows:
                row_id = getattr(row, pk.key)
                token = getattr(row, col.column)
                last = row_id
                if token_version(token) == new.version:
                    continue
                plain = decrypt_field(token, table=col.table, column=col.column, row_id=row_id)
                setattr(row, col.column, encrypt_field(plain, table=col.table, column=col.column, row_id=row_id))
                done += 1
            commit()
        counts[f"{col.table}.{col.column}"] = done
    return {"version": new.version, "reencrypted": counts}
