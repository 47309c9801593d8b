"""The signed life of each WAL file, in the tenant's checkpoints.log (issue 16).

A WAL file's head (wal.py) tells a cut from a torn write, but it lies beside the file: whoever
removes or cuts both leaves nothing behind. So the collector also signs what each file held at
two moments, in the log of signed records that seals and expiries already go to:

- ``wal_opened``: after the file's first group commit is durable, before it is acknowledged;
- ``wal_closed``: when the file stops taking records (it is then waiting to be sealed);
- ``wal_dropped``: files removed without a segment because none of their lines was storable.

Every file the log names must then be sealed (the catalog's ``sealed_wal``), present and at
least as long as signed, dropped, or recorded lost (``wal_loss``); anything else is named. What
is left unanchored is the tail of the file being written, after its ``wal_opened`` (bounded by
``segment_max_age`` and ``segment_max_bytes``), and a cut of checkpoints.log's own tail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from collector.store.wal import WalHead

__all__ = ["WalLedger", "closed_record", "dropped_record", "expected", "opened_record", "strip_unsealed"]

OPENED, CLOSED, DROPPED = "wal_opened", "wal_closed", "wal_dropped"


def opened_record(tenant: str, name: str, head: WalHead, at: int) -> dict[str, Any]:
    """What a file held when its first records were acknowledged (before signing)."""
    return _extent(OPENED, tenant, name, head, at)


def closed_record(tenant: str, name: str, head: WalHead, at: int) -> dict[str, Any]:
    """What a file held when it stopped taking records (before signing)."""
    return _extent(CLOSED, tenant, name, head, at)


def dropped_record(tenant: str, files: list[str], at: int) -> dict[str, Any]:
    return {"kind": DROPPED, "tenant": tenant, "files": files, "at": at,
            "detail": "no line of theirs was storable: removed without a segment"}


def _extent(kind: str, tenant: str, name: str, head: WalHead, at: int) -> dict[str, Any]:
    return {"kind": kind, "tenant": tenant, "file": head.file, "name": name, "frames": head.frames,
            "end": head.end, "at": at}


@dataclass
class WalLedger:
    """What the signed records say of the WAL files: the largest extent signed for each (with
    the file's name), and the files dropped."""

    signed: dict[str, tuple[str, WalHead]] = field(default_factory=dict)
    dropped: set[str] = field(default_factory=set)

    def add(self, record: dict[str, Any]) -> None:
        """Take in one record whose signature the caller checked (other kinds are ignored)."""
        kind = record.get("kind")
        if kind == DROPPED:
            self.dropped.update(str(f) for f in record.get("files", []))
        elif kind in (OPENED, CLOSED):
            head = WalHead(str(record.get("file")), int(record.get("frames", 0)), int(record.get("end", 0)))
            known = self.signed.get(head.file)
            if known is None or (head.frames, head.end) > (known[1].frames, known[1].end):
                self.signed[head.file] = (str(record.get("name")), head)

    def unaccounted(self, sealed: set[str], lost: set[str], present: set[str]) -> list[tuple[str, WalHead]]:
        """(name, signed extent) of each file signed for that is neither sealed, dropped, lost
        nor present: gone with its acknowledged records."""
        accounted = sealed | lost | present | self.dropped
        return sorted(((name, head) for file, (name, head) in self.signed.items() if file not in accounted),
                      key=lambda found: found[0])  # names repeat across runs; ids do not


def expected(head: WalHead | None, ledger: WalLedger, file_id: object) -> WalHead | None:
    """What a file must hold at least: the larger of its head and what was signed for it."""
    signed = ledger.signed.get(str(file_id))
    if signed is None or (head is not None and head.file == file_id
                          and (head.frames, head.end) >= (signed[1].frames, signed[1].end)):
        return head
    return signed[1]


def strip_unsealed(checkpoints: bytes, sealed: set[str]) -> bytes:
    """checkpoints.log without the records of WAL files not yet sealed, for a backup, which holds
    sealed segments only: restored, the store has none of those files and must not miss them."""
    kept = []
    for line in checkpoints.splitlines(keepends=True):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            kept.append(line)
            continue
        if not (isinstance(record, dict) and record.get("kind") in (OPENED, CLOSED)
                and record.get("file") not in sealed):
            kept.append(line)
    return b"".join(kept)
