"""The evidence bundle's layout: one file of JSON lines (docs/evidence.md, "The bundle"). Pure.

::

    line 1        the manifest: what was exported, by whom, from which collector, and the leaf
                  hash of every record, in order
    line 2        the statement: {"kind": "export", "manifest": SHA-256 of line 1, ...}, signed
    lines 3..N+2  the records, one per line, exactly as they were sealed
    last line     {"proofs": ...}: how each record reaches a signed checkpoint

The writer (the collector) and every verifier share this module.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

__all__ = ["FORMAT", "VERSION", "Bundle", "BundleError", "decode_hashes", "encode_hashes", "manifest_digest",
           "manifest_line", "parse_bundle", "write_bundle"]

FORMAT = "chronolog-evidence"
VERSION = 1


class BundleError(ValueError):
    """A file that is not an evidence bundle; the message says what is wrong with it."""


@dataclass(frozen=True)
class Bundle:
    manifest_line: bytes  # the exact bytes the statement's ``manifest`` hashes
    manifest: dict[str, Any]
    statement: dict[str, Any]
    records: list[bytes]  # each record's exact bytes, in bundle order
    proofs: dict[str, Any]


def encode_hashes(hashes: list[bytes]) -> str:
    """32-byte hashes as one base64 string of their concatenation (compact, and order kept)."""
    return base64.b64encode(b"".join(hashes)).decode()


def decode_hashes(text: str) -> list[bytes]:
    raw = base64.b64decode(text, validate=True)
    if len(raw) % 32:
        raise ValueError("not a whole number of 32-byte hashes")
    return [raw[i:i + 32] for i in range(0, len(raw), 32)]


def manifest_digest(manifest_line: bytes) -> str:
    return hashlib.sha256(manifest_line).hexdigest()


def _object(line: bytes, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise BundleError(f"its {what} is not JSON") from None
    if not isinstance(value, dict):
        raise BundleError(f"its {what} is not a JSON object")
    return value


def parse_bundle(data: bytes) -> Bundle:
    """Split a bundle into its parts (records are left as bytes). Raises `BundleError` for a
    file that does not have a bundle's shape."""
    if not data.endswith(b"\n"):
        raise BundleError("it does not end with a newline: it is cut short, or not a bundle")
    lines = data[:-1].split(b"\n")
    if len(lines) < 3:
        raise BundleError("it has fewer than the three lines every bundle has")
    manifest = _object(lines[0], "first line (the manifest)")
    if manifest.get("format") != FORMAT:
        raise BundleError(f"its first line is not a {FORMAT} manifest")
    if manifest.get("v") != VERSION:
        raise BundleError(f"it is version {manifest.get('v')!r} of the format; this verifier reads {VERSION}")
    statement = _object(lines[1], "second line (the signed statement)")
    proofs = _object(lines[-1], "last line (the proofs)").get("proofs")
    if not isinstance(proofs, dict):
        raise BundleError("its last line does not hold the proofs")
    return Bundle(lines[0], manifest, statement, lines[2:-1], proofs)


def manifest_line(manifest: dict[str, Any]) -> bytes:
    """The manifest as the bundle's first line holds it (the bytes the statement signs)."""
    return orjson.dumps(manifest)


class Writes(Protocol):
    def write(self, data: bytes, /) -> int: ...


def write_bundle(out: Writes, manifest: bytes, statement: dict[str, Any], records: Iterable[bytes],
                 proofs: dict[str, Any]) -> None:
    """Write a bundle; ``manifest`` is `manifest_line`'s bytes, which ``statement`` signs."""
    out.write(manifest + b"\n")
    out.write(orjson.dumps(statement) + b"\n")
    for record in records:
        out.write(record + b"\n")
    out.write(orjson.dumps({"proofs": proofs}) + b"\n")
