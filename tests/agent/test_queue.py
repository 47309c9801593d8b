from __future__ import annotations

import asyncio

from agent.delivery import Mark, Pending
from agent.delivery.queue import BatchQueue
from chronolog.wire import Chunk, ClockView


def pending(n: int, size: int) -> Pending:
    chunk = Chunk("s", n, 0, ClockView(), ["x"], [0], ["read_time"], [None])
    return Pending(chunk, Mark("s", n + 1, {}), size)


async def test_a_batch_is_cut_at_max_bytes() -> None:
    q = BatchQueue(max_bytes=100, max_delay=60, capacity=10_000)
    for i in range(5):
        await q.put(pending(i, 40))
    batch = await q.next_batch()
    assert [p.chunk.seq for p in batch] == [0, 1]
    assert q.queued_bytes == 120


async def test_a_small_batch_is_cut_after_max_delay() -> None:
    q = BatchQueue(max_bytes=1 << 20, max_delay=0.05, capacity=1 << 20)
    await q.put(pending(0, 10))
    batch = await q.next_batch()
    assert [p.chunk.seq for p in batch] == [0]


async def test_a_full_queue_makes_inputs_wait_instead_of_dropping() -> None:
    q = BatchQueue(max_bytes=100, max_delay=0.01, capacity=100)
    await q.put(pending(0, 100))
    blocked = asyncio.create_task(q.put(pending(1, 10)))
    await asyncio.sleep(0.05)
    assert not blocked.done() and len(q) == 1
    assert [p.chunk.seq for p in await q.next_batch()] == [0]
    await asyncio.wait_for(blocked, 5)
    assert [p.chunk.seq for p in await q.next_batch()] == [1]


async def test_an_item_larger_than_the_capacity_still_goes_through() -> None:
    q = BatchQueue(max_bytes=10, max_delay=0.01, capacity=10)
    await asyncio.wait_for(q.put(pending(0, 1000)), 5)
    assert [p.chunk.seq for p in await q.next_batch()] == [0]
