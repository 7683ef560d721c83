"""SM-series primitives (SM3, HMAC-SM3, SM4, SM4-GCM) from the `cryptography` wheel, and their self-test.

The wheel bundles its own OpenSSL; Debian's system OpenSSL 3.0 lacks SM4-GCM, so the wheel is required.
`self_test()` runs at start-up: the application refuses to start when a primitive disagrees with its
published test vector (a broken or substituted crypto library must not silently protect data).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SM4_KEY_BYTES = 16
GCM_NONCE_BYTES = 12
GCM_TAG_BYTES = 16


class CryptoSelfTestError(RuntimeError):
    """A primitive failed its known-answer test: the application must not start."""


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    mac = crypto_hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize()


def sm4_encrypt_block(key: bytes, block: bytes) -> bytes:
    """One raw SM4 block (ECB). Only for the known-answer test; never use ECB for data."""
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def sm4_gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """SM4-GCM; returns ciphertext followed by the 16-byte tag."""
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    if aad:
        enc.authenticate_additional_data(aad)
    body = enc.update(plaintext) + enc.finalize()
    return body + enc.tag


def sm4_gcm_decrypt(key: bytes, nonce: bytes, data: bytes, aad: bytes = b"") -> bytes:
    """Inverse of sm4_gcm_encrypt; raises cryptography.exceptions.InvalidTag on any alteration."""
    if len(data) < GCM_TAG_BYTES:
        raise ValueError("ciphertext too short")
    body, tag = data[:-GCM_TAG_BYTES], data[-GCM_TAG_BYTES:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    if aad:
        dec.authenticate_additional_data(aad)
    return dec.update(body) + dec.finalize()


# Published known-answer vectors.
_SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
VECTORS = {
    # GB/T 32905-2016 Appendix A.1
    "SM3": (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    # GM/T 0042-2015 Appendix D.3, count 1
    "HMAC-SM3": (
        (bytes(range(1, 33)), b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" * 2),
        "ca05e144ed05d1857840d1f318a4a8669e559fc8391f414485bfdf7bb408963a",
    ),
    # GB/T 32907-2016 Appendix A, example 1
    "SM4": ((_SM4_KEY, _SM4_KEY), "681edf34d206965e86b3e94f536e4246"),
    # RFC 8998 Appendix A.1
    "SM4-GCM": (
        (
            _SM4_KEY,
            bytes.fromhex("00001234567800000000abcd"),
            bytes.fromhex(
                "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd"
                "eeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa"
            ),
            bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
        ),
        "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735"
        "d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d"
        "83de3541e4c2b58177e065a9bf7b62ec",
    ),
}


def _run(name: str, inputs) -> bytes:
    if name == "SM3":
        return sm3(inputs)
    if name == "HMAC-SM3":
        return hmac_sm3(*inputs)
    if name == "SM4":
        return sm4_encrypt_block(*inputs)
    key, nonce, plaintext, aad = inputs
    sealed = sm4_gcm_encrypt(key, nonce, plaintext, aad)
    if sm4_gcm_decrypt(key, nonce, sealed, aad) != plaintext:
        return b""
    return sealed


def self_test(vectors: dict | None = None) -> list[str]:
    """Check every primitive against its vector; return the names that passed, raise on the first failure."""
    passed = []
    for name, (inputs, expected) in (vectors or VECTORS).items():
        try:
            got = _run(name, inputs).hex()
        except Exception as exc:  # an unsupported algorithm is a failure, not a crash
            raise CryptoSelfTestError(f"{name} self-test raised {type(exc).__name__}: {exc}") from exc
        if got != expected:
            raise CryptoSelfTestError(f"{name} self-test failed: got {got[:32]}..., expected {expected[:32]}...")
        passed.append(name)
    return passed
