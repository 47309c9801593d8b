"""What an evidence export needs of a store: a reader whose parts say where they were sealed,
each segment's block roots and signed checkpoint, and the chain. `collector.store.local.LocalStore`
has it; another backend (NATS JetStream, issue 14) implements the same calls.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from collector.store import StoreReader
from collector.store.sealed import ChainExtract, SegmentSeal

__all__ = ["EvidenceSource"]


class EvidenceSource(Protocol):
    async def seal(self, tenant: str) -> int:
        """Seal everything the tenant's WAL holds now (an export proves sealed lines only)."""
        ...

    def reader(self, tenant: str) -> AbstractContextManager[StoreReader]:
        """`collector.store.Store.reader`: its parts name where a segment block was sealed
        (``Part.at``); a sealed block loads whole, every line it was sealed with."""
        ...

    def segment_seals(self, tenant: str, numbers: list[int]) -> dict[int, SegmentSeal]:
        """Each segment's block roots and seal checkpoint; a segment gone since the scan
        (expired) is left out."""
        ...

    def chain_extract(self, tenant: str, first: int | None) -> ChainExtract:
        """The chain from segment ``first`` (None: the newest alone) to the newest."""
        ...

    def identity(self) -> dict[str, str]:
        """Who signs: ``signer`` (key id), ``public_key`` (base64), ``algorithm``."""
        ...

    def sign(self, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` signed like a checkpoint (`collector.store.chain.signed`)."""
        ...
