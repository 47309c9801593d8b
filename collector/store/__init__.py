"""The collector's store: what ingest writes to and query reads from.

`Store` is the narrow interface ingest and query use; `LocalStore` (local.py) keeps it in a
local directory: an encrypted WAL per tenant, sealed into encrypted, hash-chained segments
with a SQLite catalog. A distributed backend implements the same three calls, and the
administrative ones in `collector.admin.ops.AdminStore`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from chronolog.wire import Batch

if TYPE_CHECKING:
    from collector.store.feed import Follower
    from collector.store.lines import LineBlock
    from collector.store.sealed import BlockAt

__all__ = ["AppendResult", "DamagedPart", "NotSupported", "Part", "Store", "StoreEvents", "StoreReader",
           "StoreUnavailable", "StreamReport"]


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


class DamagedPart(Exception):
    """A part of the store that cannot be read (its tag fails, it is cut short, its key is
    gone). ``where`` names it for the reader; the store has already reported it."""

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}")
        self.where = where
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Part:
    """A piece of stored lines a query may read: a segment block or a WAL file. ``min_ts`` and
    ``max_ts`` bound its lines' event times, so a reader can order and skip parts unread.
    ``ordered``: its lines come back in timeline order. ``at``: the segment and block a sealed
    part was read from (what proves its lines: an evidence export), None for a WAL file.
    `load` raises `DamagedPart`."""

    name: str
    min_ts: int
    max_ts: int
    ordered: bool
    _load: Callable[[str | None], LineBlock | None]
    at: BlockAt | None = None

    def load(self, contains: str | None = None) -> LineBlock | None:
        """The part's lines; None when ``contains`` is given and no message of the part can
        hold it (a hint: a part returned may still have no such line). Blocking IO."""
        return self._load(contains)


class StoreReader(Protocol):
    """One consistent view of a tenant's lines, held while a query runs: a seal or a
    retention run at the same time neither hides nor doubles a line, whatever is asked."""

    def parts(self, since: int, until: int, hosts: frozenset[str] = frozenset(),
              streams: frozenset[str] = frozenset()) -> list[Part]:
        """Parts that may hold lines with ``since <= ts < until`` from ``hosts`` and ``streams``
        (empty: any), ordered by ``min_ts``. Blocking IO."""
        ...

    def holds(self, agent: str, stream: str, seq: int) -> bool:
        """Whether the store holds line ``seq`` of ``(agent, stream)`` (received, not a gap)."""
        ...


class StoreUnavailable(Exception):
    """The store cannot make this write durable; the caller must not acknowledge it."""


class NotSupported(Exception):
    """An operation this store backend does not offer; the message says what to do instead."""


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

    def reader(self, tenant: str) -> AbstractContextManager[StoreReader]:
        """A consistent view of the tenant's lines until the context ends."""
        ...

    def follow(self, tenant: str) -> AbstractContextManager[Follower]:
        """The tenant's new lines as they become durable, until the context ends."""
        ...

    def streams(self, tenant: str) -> list[StreamReport]:
        """Per-stream counts and sequence gaps."""
        ...


class StoreEvents(Protocol):
    """What a store reports as it works (the collector's telemetry implements it)."""

    def segment_sealed(self, tenant: str, lines: int, raw_bytes: int, stored_bytes: int) -> None: ...

    def damage_found(self, tenant: str, where: str, detail: str) -> None: ...

    def segments_expired(self, tenant: str, count: int) -> None: ...
