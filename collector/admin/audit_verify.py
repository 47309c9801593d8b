"""Verify the audit trail: name every entry rewritten, removed, reordered or duplicated.

Pure: the trail's lines (as stored) and the signer's public key in, findings out. Checks, in
the words of the store's verify (collector/store/verify.py):

- ``rewritten``: a line that is not an entry, an entry whose signature does not verify, or
  one whose ``prev`` is not the digest of the line before it while both are intact and
  consecutive (a replaced entry, re-signed by someone holding the key);
- ``removed``: entry numbers missing from the sequence;
- ``reordered``: an entry after one with a higher number;
- ``duplicated``: the same number twice.

A trail cut at its end leaves an intact, shorter chain: only a head kept elsewhere
(``chronolog audit --verify`` prints it) shows that. With ``signatures=False`` only the chain
is checked (cheap enough for every start-up; a signature costs ~0.1 ms).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from collector.admin.audit import GENESIS_HEX, entry_digest
from collector.store.chain import signature_ok

__all__ = ["TrailFinding", "TrailReport", "verify_trail"]


@dataclass(frozen=True, slots=True)
class TrailFinding:
    kind: str
    where: str
    detail: str
    tenant: str | None = None  # of the entry concerned, when it can be read (for scoping)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrailReport:
    entries: int = 0
    head: tuple[int, str] = (0, GENESIS_HEX)
    findings: list[TrailFinding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings


@dataclass(frozen=True, slots=True)
class _Line:
    index: int  # 0-based line number
    raw: bytes
    entry: dict[str, Any] | None
    n: int | None
    signed_ok: bool


def _read(index: int, raw: bytes, public_key: bytes, signatures: bool, others: Mapping[str, bytes]) -> _Line:
    try:
        entry = orjson.loads(raw)
        if not isinstance(entry, dict):
            raise ValueError
        n = entry["n"]
        if not isinstance(n, int) or isinstance(n, bool):
            raise ValueError
    except (orjson.JSONDecodeError, KeyError, ValueError):
        return _Line(index, raw, None, None, False)
    ok = signature_ok(entry, others.get(str(entry.get("signer")), public_key)) if signatures else True
    return _Line(index, raw, entry, n, ok)


def _tenant(entry: dict[str, Any]) -> str | None:
    tenant = entry.get("tenant")
    return tenant if isinstance(tenant, str) else None


def _ranges(numbers: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in numbers:
        if out and out[-1][1] == n - 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def verify_trail(lines: list[bytes], public_key: bytes | str, signatures: bool = True,
                 others: Mapping[str, bytes] | None = None) -> TrailReport:
    """``others``: public keys by signer id, for entries signed by another key than
    ``public_key`` (on a cluster, those a collector's local commands signed: audit_copy.py)."""
    key = base64.b64decode(public_key) if isinstance(public_key, str) else public_key
    read = [_read(i, raw, key, signatures, others or {}) for i, raw in enumerate(lines)]
    report = TrailReport(entries=len(read))
    found = report.findings
    if read:
        report.head = (max((x.n for x in read if x.n is not None), default=0), entry_digest(read[-1].raw))

    seen: dict[int, int] = {}  # entry number -> line index
    unreadable: set[int] = set()  # the numbers damaged lines most likely had
    highest = (0, -1)  # (number, line index) of the highest-numbered entry so far
    for line in read:
        where = f"line {line.index + 1}"
        if line.entry is None or line.n is None:
            guess = highest[0] + 1
            unreadable.add(guess)
            highest = (guess, line.index)
            found.append(TrailFinding("rewritten", where, f"not an audit entry (probably entry {guess}): "
                                      "the line was altered"))
            continue
        n, tenant = line.n, _tenant(line.entry)
        if not line.signed_ok:
            found.append(TrailFinding("rewritten", f"entry {n} ({where})",
                                      "its signature does not verify: it was altered after it was written",
                                      tenant))
        if n in seen:
            found.append(TrailFinding("duplicated", f"entry {n} ({where})",
                                      f"entry {n} also stands at line {seen[n] + 1}", tenant))
        else:
            seen[n] = line.index
        if n < highest[0]:
            found.append(TrailFinding("reordered", f"entry {n} ({where})",
                                      f"it comes after entry {highest[0]} (line {highest[1] + 1})", tenant))
        highest = max(highest, (n, line.index))

    if seen:
        missing = [n for n in range(1, max(seen) + 1) if n not in seen and n not in unreadable]
        for first, last in _ranges(missing):
            what = f"entry {first}" if first == last else f"entries {first} to {last}"
            found.append(TrailFinding("removed", what, f"{what} {'is' if first == last else 'are'} "
                                      "gone from the trail"))

    # The chain: each intact entry must follow the exact bytes of the line before it. Breaks
    # that a finding above already explains (a damaged neighbour, a gap, a move) are not
    # named twice.
    for i, line in enumerate(read):
        before = read[i - 1] if i else None
        if line.entry is None or not line.signed_ok:
            continue
        expected = GENESIS_HEX if before is None else entry_digest(before.raw)
        if line.entry.get("prev") == expected:
            continue
        if before is None:
            if line.n == 1:
                found.append(TrailFinding("rewritten", "entry 1 (line 1)",
                                          "it does not start the chain", _tenant(line.entry)))
            continue
        if before.entry is None or not before.signed_ok or before.n is None or line.n != before.n + 1:
            continue
        found.append(TrailFinding(
            "rewritten", f"entry {before.n} (line {before.index + 1})",
            f"entry {line.n} was written after another entry {before.n}: this one replaced it",
            _tenant(before.entry)))
    return report
