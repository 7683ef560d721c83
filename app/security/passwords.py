"""Password hashing (salted PBKDF2-HMAC-SM3 with a pepper kept outside the database) and policy."""

from __future__ import annotations

import base64
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

SCHEME = "pbkdf2-sm3"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _peppered(password: str, pepper: str) -> bytes:
    mac = crypto_hmac.HMAC(pepper.encode("utf-8"), hashes.SM3())
    mac.update(password.encode("utf-8"))
    return mac.finalize()


def _derive(password: str, salt: bytes, iterations: int, pepper: str) -> bytes:
    # cryptography's PBKDF2HMAC rather than hashlib.pbkdf2_hmac("sm3", ...): the same bytes, both release the
    # GIL while they run (other threads of a web worker go on), and this one takes ~25% less CPU (its
    # bundled OpenSSL). Measured with bench/kdf_gil.py; tests/test_security_crypto.py checks both facts.
    kdf = PBKDF2HMAC(algorithm=hashes.SM3(), length=32, salt=salt, iterations=iterations)
    return kdf.derive(_peppered(password, pepper))


def hash_password(password: str, *, iterations: int, pepper: str) -> str:
    salt = os.urandom(16)
    digest = _derive(password, salt, iterations, pepper)
    return f"{SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str, *, pepper: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return False
        candidate = _derive(password, base64.b64decode(salt), int(iterations), pepper)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def policy_problems(password: str, *, login: str, min_length: int) -> list[str]:
    """Chinese messages for each rule the password breaks (empty when acceptable)."""
    problems = []
    if len(password) < min_length:
        problems.append(f"密码长度至少 {min_length} 位")
    classes = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if classes < 3:
        problems.append("密码须包含大写字母、小写字母、数字、特殊字符中的至少三类")
    if login and login.lower() in password.lower():
        problems.append("密码不能包含登录名")
    return problems
