"""Ed25519 signatures over chronolog's signed records, as a verifier checks them. Pure.

A signed record (a checkpoint, an export statement, an audit entry) is a JSON object with
``signer`` and ``sig``; the signature covers its **canonical bytes**: the object without
``sig``, keys sorted, no whitespace (`canonical`). Ed25519 is on the CRYPTREC e-Government
Recommended list (since 2023).
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = ["canonical", "signature_ok", "signature_valid"]


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a signature covers: the record without ``sig``, keys sorted."""
    return orjson.dumps({k: v for k, v in record.items() if k != "sig"}, option=orjson.OPT_SORT_KEYS)


def signature_valid(public_key: bytes, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``data`` by ``public_key`` (raw)."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def signature_ok(record: dict[str, Any], public_key: bytes) -> bool:
    """Whether ``record``'s ``sig`` (base64) signs its canonical bytes under ``public_key``."""
    try:
        sig = base64.b64decode(str(record.get("sig", "")), validate=True)
    except ValueError:
        return False
    return signature_valid(public_key, sig, canonical(record))
