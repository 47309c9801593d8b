"""The store's cryptography in one place. Pure: bytes in, bytes out; no IO, no logging.

- AES-256-GCM with a deterministic nonce (NIST SP 800-38D section 8.2.1): a 4-byte random
  prefix chosen once per key, then an 8-byte counter. Every key seals one file (a WAL file or
  a segment), so a (key, nonce) pair is never used twice.
- AES key wrap (RFC 3394, NIST SP 800-38F) for keys under keys.
- Ed25519 (EdDSA, CRYPTREC e-Government Recommended since 2023) signing of checkpoints and
  reports (verifying is shared with offline verifiers: `chronolog.evidence.signatures`).
- SHA-256 for digests.

Keys are random from ``os.urandom``. Errors never carry key material: `Unreadable` says what
could not be opened, never with what.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

__all__ = [
    "KEY_BYTES",
    "NONCE_PREFIX_BYTES",
    "Sealer",
    "Unreadable",
    "new_id",
    "new_key",
    "new_nonce_prefix",
    "new_signing_key",
    "sha256",
    "signing_function",
    "unwrap_key",
    "wrap_key",
]

KEY_BYTES = 32  # AES-256
NONCE_PREFIX_BYTES = 4
_COUNTER = struct.Struct(">Q")
_COUNTER_LIMIT = 1 << 64


class Unreadable(Exception):
    """Ciphertext, a wrapped key or a signature that does not authenticate under the key given."""


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def new_nonce_prefix() -> bytes:
    return os.urandom(NONCE_PREFIX_BYTES)


def new_id(kind: str) -> str:
    """A random identifier such as ``tk-3f9a0c2b71d4e815``: names a key without revealing it."""
    return f"{kind}-{secrets.token_hex(8)}"


def sha256(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return h.digest()


class Sealer:
    """AES-256-GCM under one key with the nonce ``prefix || counter``; the caller owns the
    counter and must never repeat one under this key."""

    __slots__ = ("_aead", "prefix")

    def __init__(self, key: bytes, prefix: bytes) -> None:
        if len(key) != KEY_BYTES or len(prefix) != NONCE_PREFIX_BYTES:
            raise ValueError("expected a 32-byte key and a 4-byte nonce prefix")
        self._aead = AESGCM(key)
        self.prefix = prefix

    def _nonce(self, counter: int) -> bytes:
        if not 0 <= counter < _COUNTER_LIMIT:
            raise ValueError("nonce counter out of range")
        return self.prefix + _COUNTER.pack(counter)

    def seal(self, counter: int, plaintext: bytes, aad: bytes) -> bytes:
        return self._aead.encrypt(self._nonce(counter), plaintext, aad)

    def open(self, counter: int, ciphertext: bytes, aad: bytes) -> bytes:
        try:
            return self._aead.decrypt(self._nonce(counter), ciphertext, aad)
        except InvalidTag:
            raise Unreadable("authentication tag does not match") from None


def wrap_key(kek: bytes, key: bytes) -> bytes:
    """``key`` wrapped under ``kek`` with AES key wrap (RFC 3394): 32 bytes become 40."""
    return aes_key_wrap(kek, key)


def unwrap_key(kek: bytes, wrapped: bytes) -> bytes:
    try:
        return aes_key_unwrap(kek, wrapped)
    except (InvalidUnwrap, ValueError):
        raise Unreadable("wrapped key does not unwrap under this key") from None


def new_signing_key() -> tuple[bytes, bytes]:
    """A fresh Ed25519 key pair as raw bytes ``(private, public)``."""
    private = Ed25519PrivateKey.generate()
    return private.private_bytes_raw(), private.public_key().public_bytes_raw()


def signing_function(private_key: bytes) -> Callable[[bytes], bytes]:
    """Ed25519 signing with one key (the key object is built once: signers sign often)."""
    return Ed25519PrivateKey.from_private_bytes(private_key).sign
