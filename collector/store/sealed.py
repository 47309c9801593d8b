"""Where lines were sealed and what signs them: what a store tells an evidence export
(collector/evidence/) so that it can prove lines one by one. Plain values, no IO."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["BlockAt", "ChainExtract", "SegmentSeal"]


@dataclass(frozen=True, slots=True)
class BlockAt:
    """Where a block of lines was sealed: segment number and block number in it."""

    segment: int
    block: int


@dataclass(frozen=True, slots=True)
class SegmentSeal:
    """What proves a segment's lines: per block its line count and root (from the segment's
    index; None for a segment sealed before records roots), and the signed checkpoint of its
    seal (None when none was signed: an unclean stop)."""

    number: int
    blocks: list[tuple[int, bytes]] | None
    checkpoint: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ChainExtract:
    """The chain from segment ``first`` to the newest: the link before ``first``, per segment
    ``(number, digest, records_root or None)``, and the newest signed seal checkpoint."""

    first: int
    prev: bytes
    links: list[tuple[int, bytes, bytes | None]]
    head: dict[str, Any] | None
