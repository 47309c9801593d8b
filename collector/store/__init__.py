"""The collector's store: what ingest writes to and query reads from.

`Store` is the narrow interface the rest of the collector uses; `LocalStore` keeps it in a
local directory. A distributed backend implements the same three calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from chronolog.wire import Batch

__all__ = ["AppendResult", "Store", "StoreUnavailable", "StoredBatch", "StreamReport"]


@dataclass(frozen=True, slots=True)
class AppendResult:
    """How many lines of an appended batch were new, and how many the store already held."""

    accepted: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """A batch as stored: only lines that were new when it arrived, and when it arrived."""

    received: int  # collector clock, microseconds since the epoch
    batch: Batch


@dataclass(frozen=True, slots=True)
class StreamReport:
    """What the store holds of one ``(agent, stream)``: line count, highest seq, and gaps."""

    agent: str
    stream: str
    lines: int
    last_seq: int
    gaps: list[tuple[int, int]]


class StoreUnavailable(Exception):
    """The store cannot make this write durable; the caller must not acknowledge it."""


class Store(Protocol):
    async def append(self, tenant: str, batch: Batch, received: int) -> AppendResult:
        """Store the lines of ``batch`` not already held. Durable when it returns."""
        ...

    def batches(self, tenant: str, since: int, until: int) -> Iterator[StoredBatch]:
        """Stored batches that may hold lines with ``since <= ts < until`` (blocking IO)."""
        ...

    def streams(self, tenant: str) -> list[StreamReport]:
        """Per-stream counts and sequence gaps."""
        ...
