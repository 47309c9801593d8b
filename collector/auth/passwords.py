"""Administrator passwords: PBKDF2-HMAC-SHA256 (CRYPTREC-listed), as cryptrec.md 6.10 asks.

Stored as ``pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>``: at least 600,000 iterations
and a 16-byte salt from ``os.urandom``. Verification takes the same time whether or not the
password is right. Pure; no IO.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

__all__ = ["ITERATIONS", "MIN_ITERATIONS", "hash_password", "verify_password"]

ITERATIONS = 600_000
MIN_ITERATIONS = 600_000
SALT_BYTES = 16
_SCHEME = "pbkdf2_sha256"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, iterations: int = ITERATIONS) -> str:
    if iterations < MIN_ITERATIONS:
        raise ValueError(f"at least {MIN_ITERATIONS} iterations are required")
    if not password:
        raise ValueError("an empty password is not a password")
    salt = os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{_SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches ``stored``; False for a wrong password or a malformed or
    weaker-than-required record (never an exception that would tell them apart)."""
    try:
        scheme, iterations_text, salt_b64, digest_b64 = stored.split("$")
        iterations = int(iterations_text)
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(digest_b64, validate=True)
    except ValueError:
        return False
    if scheme != _SCHEME or iterations < MIN_ITERATIONS or len(salt) < SALT_BYTES:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(actual, expected)
