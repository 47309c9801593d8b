"""The collector's store: what ingest writes to and query reads from.

`Store` is the narrow interface ingest and query use; `LocalStore` (local.py) keeps it in a
local directory: an encrypted WAL per tenant, sealed into encrypted, hash-chained segments
with a SQLite catalog. A distributed backend implements the same three calls, and the
administrative ones in `collector.admin.ops.AdminStore`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from chronolog.wire import Batch

if TYPE_CHECKING:
    from collector.store.lines import LineBlock

__all__ = ["AppendResult", "Store", "StoreEvents", "StoreUnavailable", "StreamReport"]


@dataclass(frozen=True, slots=True)
class AppendResult:
    """How many lines of an appended batch were new, and how many the store already held."""

    accepted: int
    duplicates: int


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

    def scan(self, tenant: str, since: int, until: int, hosts: frozenset[str] = frozenset(),
             contains: str | None = None) -> Iterator[LineBlock]:
        """Blocks of stored lines that may hold lines with ``since <= ts < until`` from
        ``hosts`` (empty: any host) whose message contains ``contains``. Every filter is a
        hint to skip what cannot match: a block may hold other lines too, and the caller
        filters line by line. Blocking IO: call it from a worker thread."""
        ...

    def streams(self, tenant: str) -> list[StreamReport]:
        """Per-stream counts and sequence gaps."""
        ...


class StoreEvents(Protocol):
    """What a store reports as it works (the collector's telemetry implements it)."""

    def segment_sealed(self, tenant: str, lines: int, raw_bytes: int, stored_bytes: int) -> None: ...

    def damage_found(self, tenant: str, where: str, detail: str) -> None: ...

    def segments_expired(self, tenant: str, count: int) -> None: ...
