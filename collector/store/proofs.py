"""What a store tells an evidence export (`collector.evidence.source.EvidenceSource`), read
from a tenant's catalog, checkpoint log and segment heads. A local tenant and a JetStream
tenant's mirror keep these in the same layout, so both backends answer from here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from collector.store.catalog import Catalog
from collector.store.chain import GENESIS, CheckpointLog
from collector.store.crypto import Unreadable
from collector.store.sealed import ChainExtract, SegmentSeal
from collector.store.segment import SegmentHead

__all__ = ["chain_extract", "seal_checkpoints", "segment_seals"]


def seal_checkpoints(checkpoints: CheckpointLog) -> dict[int, dict[str, Any]]:
    """The seal checkpoints, by segment number (their signatures are the verifier's to check)."""
    records, _ = checkpoints.read()
    return {int(r["number"]): r for r in records if r.get("kind") == "seal" and "number" in r}


def segment_seals(catalog: Catalog, checkpoints: CheckpointLog, segment_file: Callable[[int, str], Path],
                  numbers: list[int]) -> dict[int, SegmentSeal]:
    """The block roots and seal checkpoint of each live segment of ``numbers`` (one that is
    gone is left out); ``segment_file(number, name)`` is where its file is (fetched if need be)."""
    wanted = set(numbers)
    rows = [r for r in catalog.segments(min(wanted, default=0)) if r.number in wanted and r.state == "live"]
    seals = seal_checkpoints(checkpoints)
    found: dict[int, SegmentSeal] = {}
    for row in rows:
        try:
            with open(segment_file(row.number, row.file), "rb") as f:
                index = SegmentHead.read(f).index
        except (OSError, Unreadable):
            continue
        blocks = None
        if row.records_root is not None:
            blocks = [(int(b["lines"]), bytes.fromhex(b["root"])) for b in index]
        found[row.number] = SegmentSeal(row.number, blocks, seals.get(row.number))
    return found


def chain_extract(catalog: Catalog, checkpoints: CheckpointLog, first: int | None) -> ChainExtract:
    """The chain from segment ``first`` (None: the newest alone) to the newest, with the newest
    seal checkpoint."""
    if first is None:
        first = max(catalog.last()[0], 1)
    rows = catalog.segments(first - 1)
    prev = GENESIS
    if rows and rows[0].number == first - 1:
        prev = bytes.fromhex(rows.pop(0).link)
    links = [(r.number, bytes.fromhex(r.digest),
              bytes.fromhex(r.records_root) if r.records_root is not None else None) for r in rows]
    seals = seal_checkpoints(checkpoints)
    return ChainExtract(first, prev, links, seals[max(seals)] if seals else None)
