"""The shipping loop: cut a batch, send it until the collector takes it, then commit.

Retries go on forever by default (an outage must not turn into data loss). A batch the
collector can never accept (a 4xx other than an auth or rate problem) is dropped with its
reason counted, and its marks are committed so the agent does not resend it forever.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from agent.delivery import Pending
from agent.delivery.backoff import backoff_delay
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from agent.delivery.sender import Ack, SendError
from agent.telemetry import Telemetry
from chronolog.timefmt import now_us
from chronolog.wire import Batch, compress, encode_batch

__all__ = ["Identity", "Sender", "Shipper"]


@dataclass(frozen=True, slots=True)
class Identity:
    agent: str
    host: str
    zone: str


class Sender(Protocol):
    """The seam to the collector: `HttpSender` in production, a fake in unit tests."""

    encoding: str

    async def send(self, body: bytes) -> Ack: ...


class Shipper:
    def __init__(self, identity: Identity, queue: BatchQueue, sender: Sender,
                 checkpoints: Checkpoints, telemetry: Telemetry,
                 retry_initial: float, retry_max: float,
                 rng: Callable[[], random.Random] = random.Random) -> None:
        self.identity = identity
        self.queue = queue
        self.sender = sender
        self.checkpoints = checkpoints
        self.telemetry = telemetry
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._rng = rng()
        self._current: list[Pending] | None = None  # taken from the queue, not yet committed

    async def run(self) -> None:
        while True:
            self._current = await self.queue.next_batch()
            await self.ship(self._current)
            self._current = None

    async def drain(self) -> None:
        """After `run` was cancelled and the inputs stopped: ship the batch `run` was working
        on, then what is still queued, in order (commits must never overtake an unacked
        batch)."""
        if self._current:
            await self.ship(self._current)
            self._current = None
        while batch := self.queue.take_now():
            await self.ship(batch)

    async def ship(self, items: list[Pending]) -> None:
        marks = [p.mark for p in items]
        # Sequence numbers must be on record as used before anyone can hold them.
        if self.checkpoints.reserve(marks):
            await asyncio.to_thread(self.checkpoints.save)
        ident = self.identity
        batch = Batch(ident.agent, ident.host, ident.zone, now_us(), [p.chunk for p in items])
        body = compress(encode_batch(batch), self.sender.encoding)
        ack = await self._send_until_taken(body, items)
        if ack is not None:
            self._account(items, ack)
        self.checkpoints.commit(marks)
        await asyncio.to_thread(self.checkpoints.save)

    async def _send_until_taken(self, body: bytes, items: list[Pending]) -> Ack | None:
        attempt = 0
        while True:
            try:
                return await self.sender.send(body)
            except SendError as e:
                if not e.retryable:
                    for p in items:
                        self.telemetry.lines_dropped(p.chunk.stream, len(p.chunk), e.reason)
                    return None
                delay = backoff_delay(attempt, self.retry_initial, self.retry_max, self._rng)
                self.telemetry.send_failed(e.reason, e.detail, delay)
                await asyncio.sleep(delay)
                attempt += 1

    def _account(self, items: list[Pending], ack: Ack) -> None:
        rejected = dict(ack.rejected)
        for index, p in enumerate(items):
            if index in rejected:
                self.telemetry.lines_dropped(p.chunk.stream, len(p.chunk), f"rejected: {rejected[index]}")
            else:
                self.telemetry.lines_acked(p.chunk.stream, len(p.chunk))
        self.telemetry.batch_acked(len(items), ack.accepted, ack.duplicates)
