"""The ``clock`` stream: every audit sample and every clock event as a record, shipped to the
collector like a log line so the clock's history is kept (and protected) like any log.

It is a generated stream: nothing can read it again after a crash. It goes through the same
queue and checkpoint as the inputs, with an empty position; on start it numbers from the
checkpoint's ``high_seq``, one past the highest number ever sent, because a number the
collector may already hold for another record would make it drop the new one as a
duplicate. Its chunks are marked `Pending.generated`, so the shipper writes them to the spool
(fsync'd) before sending; records not yet spooled when the agent dies are lost.

The monitor must never wait on delivery, so `ClockRecorder.add` only appends to a bounded
backlog; `run` moves the backlog into the queue, waiting there like any input. If the
backlog overflows (the collector gone for a long time), the oldest records are dropped and
counted.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from agent.delivery import Mark, Pending
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from agent.telemetry import Telemetry
from chronolog.timefmt import now_us
from chronolog.timestamps import EXPLICIT
from chronolog.wire import Chunk, ClockView

__all__ = ["STREAM", "ClockRecord", "ClockRecorder", "chunk_of"]

STREAM = "clock"
BACKLOG = 2000  # records; about a day of audits
MAX_PER_CHUNK = 200


@dataclass(frozen=True, slots=True)
class ClockRecord:
    """One record: the time it was made (us), a readable line, and the structured fields
    (``kind`` is ``sample`` or the event's kind)."""

    ts: int
    msg: str
    fields: dict[str, Any]


def chunk_of(records: list[ClockRecord], seq: int, read_us: int, clock: ClockView) -> Chunk:
    """Records as one chunk of the clock stream, numbered from ``seq`` (pure)."""
    n = len(records)
    return Chunk(STREAM, seq, read_us, clock, [r.msg for r in records], [r.ts for r in records],
                 [EXPLICIT] * n, [None] * n, fields=[(i, r.fields) for i, r in enumerate(records)])


class ClockRecorder:
    def __init__(self, queue: BatchQueue, checkpoints: Checkpoints, clock: Callable[[], ClockView],
                 telemetry: Telemetry, backlog: int = BACKLOG) -> None:
        self.queue = queue
        self.clock = clock
        self.telemetry = telemetry
        state = checkpoints.get(STREAM)
        self.next_seq = max(state.next_seq, state.high_seq)
        self._backlog: collections.deque[ClockRecord] = collections.deque()
        self._limit = backlog
        self._waiting = asyncio.Event()

    def add(self, record: ClockRecord) -> None:
        """Keep a record for shipping (never waits)."""
        if len(self._backlog) >= self._limit:
            self._backlog.popleft()
            self.telemetry.lines_dropped(STREAM, 1, "clock_backlog_full")
        self._backlog.append(record)
        self._waiting.set()

    async def run(self) -> None:
        records: list[ClockRecord] = []
        try:
            while True:
                await self._waiting.wait()
                self._waiting.clear()
                while self._backlog:
                    records = [self._backlog.popleft()
                               for _ in range(min(len(self._backlog), MAX_PER_CHUNK))]
                    await self._put(records)
                    records = []
        finally:
            # Stopping: what was never handed over to the queue is lost, and counted.
            lost = len(records) + len(self._backlog)
            if lost:
                self.telemetry.lines_dropped(STREAM, lost, "agent_stopped")
                self._backlog.clear()

    async def _put(self, records: list[ClockRecord]) -> None:
        chunk = chunk_of(records, self.next_seq, now_us(), self.clock())
        self.next_seq += len(records)
        size = sum(len(r.msg) + len(orjson.dumps(r.fields)) for r in records) + 256 * len(records)
        self.telemetry.lines_read(STREAM, len(records))
        await self.queue.put(Pending(chunk, Mark(STREAM, self.next_seq, {}), size, generated=True))
