"""The bounded queue between the inputs and the shipper, and where batches are cut.

Inputs `put` chunks and wait while the queue holds ``capacity`` bytes (back-pressure: an
input that cannot hand over stops reading, so nothing is dropped). The shipper takes a batch
with `next_batch`: everything queued up to ``max_bytes``, waiting at most ``max_delay`` after
the first chunk for more to arrive.
"""

from __future__ import annotations

import asyncio
import collections

from agent.delivery import Pending

__all__ = ["BatchQueue"]


class BatchQueue:
    def __init__(self, max_bytes: int, max_delay: float, capacity: int) -> None:
        self.max_bytes = max_bytes
        self.max_delay = max_delay
        self.capacity = capacity
        self._items: collections.deque[Pending] = collections.deque()
        self._bytes = 0
        self._changed = asyncio.Condition()

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def oldest_read(self) -> int | None:
        """The read time of the chunk queued first (None when empty)."""
        return self._items[0].chunk.read if self._items else None

    async def put(self, item: Pending) -> None:
        async with self._changed:
            # An item larger than the whole capacity still goes in once the queue is empty.
            await self._changed.wait_for(lambda: self._bytes < self.capacity or not self._items)
            self._items.append(item)
            self._bytes += item.size
            self._changed.notify_all()

    async def next_batch(self) -> list[Pending]:
        """Wait for a first chunk, then cut a batch by size or by ``max_delay``."""
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._items))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_delay
        async with self._changed:
            while self._bytes < self.max_bytes:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    break
            batch = self._take()
            self._changed.notify_all()  # room for waiting producers
            return batch

    def take_now(self) -> list[Pending]:
        """Whatever is queued, up to ``max_bytes``, without waiting (used when stopping, once
        the inputs have stopped, so no producer is left to wake)."""
        return self._take()

    def _take(self) -> list[Pending]:
        batch: list[Pending] = []
        size = 0
        while self._items and (not batch or size + self._items[0].size <= self.max_bytes):
            item = self._items.popleft()
            batch.append(item)
            size += item.size
        self._bytes -= size
        return batch
