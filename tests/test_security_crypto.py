"""SM-series primitives against published vectors, field encryption, keys, rotation, blind index, masking."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.security import crypto, sm
from app.security.crypto import (
    DecryptionFailed,
    blind_index,
    decrypt_field,
    encrypt_field,
    mask_id_number,
    mask_name,
    mask_phone,
    registered_columns,
)
from app.security.models import DataKey, UserTotp
from tests.conftest import user


def test_primitives_match_published_vectors():
    assert sm.self_test() == ["SM3", "HMAC-SM3", "SM4", "SM4-GCM"]
    # GB/T 32905 A.2: the 512-bit message
    assert sm.sm3(b"abcd" * 16).hex() == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_self_test_runs_at_start_up(app):
    assert app.extensions["ducha.crypto_self_test"] == ["SM3", "HMAC-SM3", "SM4", "SM4-GCM"]


def test_app_refuses_to_start_when_a_vector_fails(monkeypatch, tmp_path):
    broken = dict(sm.VECTORS)
    inputs, _ = broken["SM4"]
    broken["SM4"] = (inputs, "00" * 16)
    monkeypatch.setattr(sm, "VECTORS", broken)
    with pytest.raises(sm.CryptoSelfTestError, match="SM4"):
        create_app({"TESTING": True, "INSTANCE_DIR": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_sm4_gcm_detects_a_flipped_bit():
    key, nonce = bytes(16), bytes(12)
    sealed = bytearray(sm.sm4_gcm_encrypt(key, nonce, b"secret", b"aad"))
    sealed[0] ^= 1
    from cryptography.exceptions import InvalidTag

    with pytest.raises(InvalidTag):
        sm.sm4_gcm_decrypt(key, nonce, bytes(sealed), b"aad")


def test_field_round_trip_and_format(ctx):
    a = encrypt_field("310101199001011234", table="clues", column="id_number_enc", row_id=7)
    b = encrypt_field("310101199001011234", table="clues", column="id_number_enc", row_id=7)
    assert a != b  # a fresh random nonce each time
    assert a.startswith("ENC1:k1:")
    assert len(crypto._unb64(a.split(":")[2])) == 12  # 96-bit nonce
    assert decrypt_field(a, table="clues", column="id_number_enc", row_id=7) == "310101199001011234"
    assert "3101011990" not in a


def test_ciphertext_copied_to_another_row_or_column_fails(ctx):
    token = encrypt_field("13812345678", table="clues", column="phone_enc", row_id=1)
    with pytest.raises(DecryptionFailed) as exc:
        decrypt_field(token, table="clues", column="phone_enc", row_id=2)
    assert "拒绝解密" in exc.value.message
    with pytest.raises(DecryptionFailed):
        decrypt_field(token, table="clues", column="id_number_enc", row_id=1)
    with pytest.raises(DecryptionFailed):
        decrypt_field(token, table="enterprises", column="phone_enc", row_id=1)
    # A tampered ciphertext, and one relabelled with another key version.
    head, tail = token.rsplit(":", 1)
    flipped = bytearray(crypto._unb64(tail))
    flipped[0] ^= 0x80
    with pytest.raises(DecryptionFailed):
        decrypt_field(f"{head}:{crypto._b64(bytes(flipped))}", table="clues", column="phone_enc", row_id=1)
    with pytest.raises(DecryptionFailed):
        decrypt_field("garbage", table="clues", column="phone_enc", row_id=1)


def test_domain_error_is_a_chinese_500(app, ctx):
    assert DecryptionFailed.status == 500
    assert "密钥" in DecryptionFailed().message


def test_data_keys_are_stored_wrapped(app, ctx):
    encrypt_field("x", table="t", column="c", row_id=1)
    db.session.commit()
    row = db.session.scalar(select(DataKey).where(DataKey.purpose == "field"))
    assert row.version == 1 and row.status == "active" and row.kek_id.startswith("file:")
    # nonce (12) + wrapped 16-byte key + tag (16)
    assert len(base64.b64decode(row.wrapped)) == 44
    from pathlib import Path

    kek = Path(app.config["INSTANCE_DIR"]) / "keys" / "kek.key"
    assert kek.exists() and (kek.stat().st_mode & 0o777) == 0o600


def test_wrong_key_encryption_key_refuses(app, ctx, monkeypatch, tmp_path):
    token = encrypt_field("机密", table="t", column="c", row_id=1)
    db.session.commit()
    # Another installation's KEK (or a swapped key file): the data key cannot be unwrapped.
    monkeypatch.setitem(app.config, "KEY_DIR", str(tmp_path / "other-keys"))
    monkeypatch.delitem(app.extensions, "ducha.key_provider")
    with pytest.raises(DecryptionFailed, match="密钥"):
        decrypt_field(token, table="t", column="c", row_id=1)


def test_swapped_wrapped_key_refuses(app, ctx):
    token = encrypt_field("机密", table="t", column="c", row_id=1)
    row = db.session.scalar(select(DataKey).where(DataKey.purpose == "field"))
    raw = bytearray(base64.b64decode(row.wrapped))
    raw[-1] ^= 1
    row.wrapped = base64.b64encode(bytes(raw)).decode()
    db.session.commit()
    with pytest.raises(DecryptionFailed):
        decrypt_field(token, table="t", column="c", row_id=1)


def test_registered_columns_include_totp_secret_and_are_unique():
    pairs = [(c.table, c.column) for c in registered_columns()]
    assert ("user_totp", "secret_enc") in pairs
    assert len(pairs) == len(set(pairs))


def test_key_rotation_reencrypts_registered_columns(app, ctx, runner):
    from app.security import totp

    secrets = {login: totp.begin_enrolment(user(login)) for login in ("auditor", "secadmin", "procadmin")}
    db.session.commit()
    before = {r.user_id: r.secret_enc for r in db.session.scalars(select(UserTotp))}
    assert all(t.startswith("ENC1:k1:") for t in before.values())
    result = runner.invoke(args=["ducha", "keys", "rotate", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "user_totp.secret_enc: 3 re-encrypted" in result.output
    db.session.expire_all()
    for login, secret in secrets.items():
        row = db.session.get(UserTotp, user(login).id)
        assert row.secret_enc.startswith("ENC1:k2:")
        assert totp._secret(row) == secret
    keys = {(k.version, k.status) for k in db.session.scalars(select(DataKey).where(DataKey.purpose == "field"))}
    assert keys == {(1, "retired"), (2, "active")}
    status = runner.invoke(args=["ducha", "keys", "status"])
    assert "field  v2" in status.output and "retired" in status.output
    from app.audit.models import AuditEntry

    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "keys.rotate")) is not None


def test_blind_index(ctx):
    a = blind_index("310101199001011234", purpose="clue.id_number")
    assert a == blind_index(" 310101199001011234 ", purpose="clue.id_number")
    assert a == blind_index("３１０１０１１９９００１０１１２３４", purpose="clue.id_number")  # full-width digits
    assert a != blind_index("310101199001011234", purpose="clue.phone")
    assert a != blind_index("310101199001011235", purpose="clue.id_number")
    assert len(a) == 64 and int(a, 16) >= 0
    # The index key is separate from the field key and does not rotate with it.
    crypto.rotate_field_keys(commit=db.session.flush)
    assert blind_index("310101199001011234", purpose="clue.id_number") == a


def test_masking():
    assert mask_id_number("310101199001011234") == "310101********1234"
    assert mask_id_number("31010119900101X") == "310101*****101X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("021-63211234") == "021-****1234"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_id_number(None) == mask_phone("") == mask_name(None) == ""


def test_the_password_kdf_lets_other_threads_run_and_matches_hashlib():
    """A login's 300,000-iteration PBKDF2-HMAC-SM3 must not hold the GIL: a web worker's other threads
    (4 per worker) go on while it runs. And hashlib's PBKDF2 gives the same bytes (stored hashes stay
    valid whichever is used)."""
    import hashlib
    import os

    from app.security.passwords import _derive, _peppered
    from bench.kdf_gil import probe_while

    salt = os.urandom(16)
    ours = _derive("Secret@2026", salt, 2000, "pepper")
    assert ours == hashlib.pbkdf2_hmac("sm3", _peppered("Secret@2026", "pepper"), salt, 2000, 32)
    wall, longest_gap, wakeups, _ = probe_while(_derive, "Secret@2026", salt, 300_000, "pepper")
    # Holding the GIL would leave the 1 ms probe asleep for the whole derivation (one gap as long as it).
    assert wakeups >= 10 and longest_gap < wall / 2, (wall, longest_gap, wakeups)
