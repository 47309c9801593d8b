"""Lines as the store makes them durable, for readers that follow a tenant live (``chronolog
tail``). Pure asyncio; no IO.

Each follower has a bounded queue. A follower that does not keep up never slows ingest: the
batches it misses are counted, and it is told how many lines it lost, never left to assume
it saw everything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from chronolog.wire import Batch

__all__ = ["Feed", "Follower"]


@dataclass(slots=True, eq=False)  # each follower is itself (hashable by identity)
class Follower:
    """One follower's queue of ``(received, batch)``; ``lost``: lines dropped since it last
    looked (`take` returns and resets it)."""

    queue: asyncio.Queue[tuple[int, Batch]]
    lost: int = 0

    async def take(self, timeout: float) -> tuple[list[tuple[int, Batch]], int]:
        """What arrived (waiting up to ``timeout`` seconds for something), and lines lost."""
        got = []
        with contextlib.suppress(TimeoutError):
            got.append(await asyncio.wait_for(self.queue.get(), timeout))
        while not self.queue.empty():
            got.append(self.queue.get_nowait())
        lost, self.lost = self.lost, 0
        return got, lost


class Feed:
    """The followers of each tenant."""

    def __init__(self, queue_batches: int = 1000) -> None:
        self._followers: dict[str, set[Follower]] = {}
        self._size = queue_batches

    @contextlib.contextmanager
    def follow(self, tenant: str) -> Iterator[Follower]:
        follower = Follower(asyncio.Queue(self._size))
        self._followers.setdefault(tenant, set()).add(follower)
        try:
            yield follower
        finally:
            self._followers[tenant].discard(follower)

    def publish(self, tenant: str, received: int, batch: Batch) -> None:
        """New durable lines of ``tenant`` (called on the event loop)."""
        for follower in self._followers.get(tenant, ()):
            try:
                follower.queue.put_nowait((received, batch))
            except asyncio.QueueFull:
                follower.lost += sum(len(c) for c in batch.chunks)
