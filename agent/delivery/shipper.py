"""The shipping loop: cut a batch, deliver it, then commit.

Up to ``in_flight`` batches are sent before the first of them is answered, so the agent cuts,
compresses and sends the next batch while the collector stores the one before. Everything
after a batch's answer (counting it, spooling it, committing it) happens *in turn*: only once
the batch sent before it is settled. So commits stay in the order the lines were read, and a
later batch's acknowledgement never commits past an earlier batch that is unanswered, being
retried, or failed (a crash then reads the later lines again; the collector drops repeats).

A batch is *committed* (its marks written to the checkpoint file, so the inputs never read
its lines again) once the collector acknowledged it, or once it is fsync'd in the spool:

- the first attempt goes straight to the collector; if that fails for a reason that may
  pass (a connection refused, a 503...), the batch goes to the spool and is committed;
- while the spool holds lines that can be read again (an outage's, or a run's before), new
  batches go behind it, so nothing overtakes an outage;
- the chunks of a generated stream (`Pending.generated`) are spooled before they are sent:
  the spool is their only other copy. They are cut from their batch and spooled on their own,
  and do not hold the other lines back: the spool sender delivers them while the rest goes
  straight to the collector (otherwise one clock record under load sent every later batch
  through the disk, the spool never emptying while the inputs kept up: issue 13);
- the spool sender delivers spooled batches oldest first, retrying forever with back-off,
  and deletes each one once acknowledged.

Without a spool (``max_bytes = 0``) a batch is retried in memory until taken, and the queue
in front of it makes the inputs wait. A batch the collector can never accept (the typed
4xx of docs/wire.md) is dropped with its reason counted and its marks committed, so it is
not resent forever.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from agent.delivery import Pending
from agent.delivery.backoff import backoff_delay, retry_delay
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from agent.delivery.sender import Ack, SendError
from agent.delivery.spool import Spool, SpoolCorrupt, SpoolFull
from agent.telemetry import Telemetry
from chronolog.timefmt import now_us
from chronolog.wire import columns_parts, compress

# Why a batch went to the spool (only "unreachable" says anything about the collector).
SpoolReason = Literal["generated", "behind_spool", "unreachable"]

__all__ = ["SPOOL_FULL", "Identity", "Sender", "Shipper"]

SPOOL_FULL = "spool_full"  # the reason lines deleted by when_full = drop_oldest are dropped with
SPOOL_UNREADABLE = "spool_unreadable"
SAVE_INTERVAL = 1.0  # seconds: under load, acknowledged marks are saved at least this often


@dataclass(frozen=True, slots=True)
class Identity:
    agent: str
    host: str
    zone: str


class Sender(Protocol):
    """The seam to the collector: `HttpSender` in production, a fake in unit tests."""

    encoding: str

    async def send(self, body: bytes, encoding: str | None = None) -> Ack: ...


ChunkRef = tuple[str, int, int]  # stream, first seq, lines
Outcome = Ack | str  # what settled a sent batch: the collector's answer, or why it is dropped


class Shipper:
    def __init__(self, identity: Identity, queue: BatchQueue, sender: Sender,
                 checkpoints: Checkpoints, telemetry: Telemetry,
                 retry_initial: float, retry_max: float, spool: Spool | None = None,
                 rng: Callable[[], random.Random] = random.Random, in_flight: int = 1) -> None:
        self.identity = identity
        self.queue = queue
        self.sender = sender
        self.checkpoints = checkpoints
        self.telemetry = telemetry
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.spool = spool
        self._rng = rng()
        self.in_flight = in_flight
        # Taken from the queue, not yet committed: the batches being delivered, oldest first,
        # each with the task delivering it, and the next one, reserved meanwhile.
        self._flying: collections.deque[tuple[list[Pending], asyncio.Task[None]]] = collections.deque()
        self._next: list[Pending] | None = None
        self._spooled = asyncio.Event()
        self._save_lock = asyncio.Lock()
        self._last_save = 0.0
        # The generated streams seen in this run: the spool holding only their lines is no
        # outage. (What a run before left in the spool is taken for one until delivered.)
        self._generated: set[str] = set()

    async def run(self) -> None:
        """Ship batches from the queue, and (with a spool) deliver the spool, until cancelled.

        While ``in_flight`` batches are being delivered (waiting for the collector's fsync and
        answer), the next is cut and its numbers reserved (the checkpoint's fsync); it is made
        and sent once the oldest of them is settled. Each batch commits in turn (`_deliver`).
        """
        sender = asyncio.create_task(self.send_spooled()) if self.spool is not None else None
        try:
            while True:
                self._next = await self.queue.next_batch()
                await self._reserve(self._next)
                while len(self._flying) >= self.in_flight:
                    await asyncio.shield(self._flying[0][1])  # cancelling run must not cut it short
                    self._flying.popleft()
                self._launch(self._next)
                self._next = None
        finally:
            if sender is not None:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender

    def oldest_unacked(self) -> int | None:
        """When the oldest line read but not yet acknowledged was read (µs; None: there is
        none): in the batch being shipped, the one cut next, the queue, or the spool."""
        batches = [batch for batch, _ in self._flying] + [self._next or []]
        times = [p.chunk.read for batch in batches for p in batch]
        times += [t for t in (self.queue.oldest_read(),) if t is not None]
        if self.spool is not None and (spooled := self.spool.report().oldest_created) is not None:
            times.append(spooled)
        return min(times, default=None)

    def _launch(self, items: list[Pending]) -> None:
        """Start delivering a reserved batch; it commits after the batch launched before it."""
        before = self._flying[-1][1] if self._flying else None
        self._flying.append((items, asyncio.create_task(self._deliver(items, before))))

    async def drain(self) -> None:
        """After `run` was cancelled and the inputs stopped: finish the batches being delivered,
        ship the one made ready after them, then what is still queued, in order (commits must
        never overtake an unacked batch). With a spool, whatever the collector does not take
        at once is spooled."""
        try:
            while self._flying:
                await self._flying[0][1]
                self._flying.popleft()
        except asyncio.CancelledError:  # out of time: the later ones must not commit either
            for _, task in self._flying:
                task.cancel()
            raise
        if self._next:
            await self.ship(self._next)
        self._next = None
        while batch := self.queue.take_now():
            await self.ship(batch)

    async def ship(self, items: list[Pending]) -> None:
        """Deliver one batch and commit it (see the module's docstring)."""
        await self._reserve(items)
        await self._deliver(items)

    async def _reserve(self, items: list[Pending]) -> None:
        # Sequence numbers must be on record as used before anyone can hold them.
        if self.checkpoints.reserve([p.mark for p in items]):
            await self._save()

    async def _deliver(self, items: list[Pending], before: asyncio.Task[None] | None = None) -> None:
        """Send a reserved batch, then, in turn (once ``before``, the delivery of the batch
        sent before it, is done), count it and commit it, or spool it."""
        if self.spool is None:
            outcome = await self._send_until_settled(self._body(items))
            await _done(before)
            self._settle(_refs(items), outcome)
        else:
            # Spooled first: a generated stream (nothing could read it again), and anything
            # while lines of an outage wait in the spool (order); else only when the collector
            # cannot take it.
            made = [p for p in items if p.generated]
            if made:
                await _done(before)
                self._generated.update(p.chunk.stream for p in made)
                await self._to_spool(self._body(made), made, "generated")  # commits once fsync'd
                items = [p for p in items if not p.generated]
                if not items:
                    return
            body = self._body(items)
            behind = self.spool.holds_other_than(self._generated)
            taken = None if behind else await self._attempt(body)
            await _done(before)
            if taken is None:
                await self._to_spool(body, items, "behind_spool" if behind else "unreachable")
                return
            self._settle(_refs(items), taken)
        self.checkpoints.commit([p.mark for p in items])
        await self._save_soon()

    def _body(self, items: list[Pending]) -> bytes:
        ident = self.identity
        body = columns_parts(ident.agent, ident.host, ident.zone, now_us(), [p.chunk for p in items])
        # In the loop, not a thread: a few milliseconds a batch, and on a busy core a thread's
        # compression waits behind the inputs, holding the batch back (measured: 3 ms vs 11 ms).
        return compress(body, self.sender.encoding)

    async def _attempt(self, body: bytes) -> Outcome | None:
        """One attempt; None if it failed for a reason that may pass (counted)."""
        try:
            return await self.sender.send(body)
        except SendError as e:
            if e.retryable:
                self.telemetry.send_failed(e.reason, e.detail, 0.0)
                return None
            return e.reason

    async def _send_until_settled(self, body: bytes) -> Outcome:
        """Send until the collector takes the batch or refuses it for good."""
        attempt = 0
        while True:
            try:
                return await self.sender.send(body)
            except SendError as e:
                if not e.retryable:
                    return e.reason
                delay = retry_delay(attempt, self.retry_initial, self.retry_max, self._rng, e.retry_after)
                self.telemetry.send_failed(e.reason, e.detail, delay)
                await asyncio.sleep(delay)
                attempt += 1

    def _settle(self, refs: list[ChunkRef], outcome: Outcome) -> None:
        if isinstance(outcome, Ack):
            self._account(refs, outcome)
        else:
            self._drop(refs, outcome)

    async def _to_spool(self, body: bytes, items: list[Pending], why: SpoolReason) -> None:
        assert self.spool is not None
        refs = _refs(items)
        attempt = 0
        while True:
            try:
                dropped = await asyncio.to_thread(
                    self.spool.append, body, self.sender.encoding, refs, now_us())
                break
            except (SpoolFull, OSError) as e:
                # No room: perhaps the collector is back and takes it directly.
                if (outcome := await self._attempt(body)) is not None:
                    self._settle(refs, outcome)
                    self.checkpoints.commit([p.mark for p in items])
                    await self._save()
                    return
                delay = backoff_delay(attempt, self.retry_initial, self.retry_max, self._rng)
                self.telemetry.spool_full(str(e), delay)
                await asyncio.sleep(delay)
                attempt += 1
        for entry in dropped:
            self._drop(entry.chunks, SPOOL_FULL)
        self.checkpoints.commit([p.mark for p in items])
        await self._save()
        # Counted as spooled once the position after them is on disk too: a crash from here on
        # neither reads them again nor loses them.
        for stream, _, n in refs:
            self.telemetry.lines_spooled(stream, n)
        self.telemetry.batch_spooled(len(refs), len(body), why)
        self._spooled.set()

    async def send_spooled(self) -> None:
        """Deliver spooled batches, oldest first, until cancelled."""
        assert self.spool is not None
        attempt = 0
        while True:
            entry = self.spool.oldest()
            if entry is None:
                self._spooled.clear()
                if self.spool.oldest() is None:
                    await self._spooled.wait()
                continue
            try:
                body = await asyncio.to_thread(self.spool.read, entry)
            except (OSError, SpoolCorrupt) as e:
                self.telemetry.spool_unreadable(entry.name, str(e))
                self._drop(entry.chunks, SPOOL_UNREADABLE)
            else:
                try:
                    ack = await self.sender.send(body, entry.encoding)
                except SendError as e:
                    if e.retryable:
                        delay = retry_delay(attempt, self.retry_initial, self.retry_max, self._rng,
                                            e.retry_after)
                        self.telemetry.send_failed(e.reason, e.detail, delay)
                        await asyncio.sleep(delay)
                        attempt += 1
                        continue
                    self._drop(entry.chunks, e.reason)
                else:
                    self._account(entry.chunks, ack)
            attempt = 0
            await self._save()  # the ledger first: a crash now resends (deduplicated), never loses
            await asyncio.to_thread(self.spool.remove, entry)

    async def _save(self) -> None:
        async with self._save_lock:
            await asyncio.to_thread(self.checkpoints.save)
        self._last_save = asyncio.get_running_loop().time()

    async def _save_soon(self) -> None:
        """Save acknowledged marks now if nothing else is queued or the last save is old;
        otherwise the next batch's reservation saves them with it (one write per batch under
        load). Saving later is always safe: a crash re-reads from the older position, and the
        collector drops the repeats."""
        idle = len(self.queue) == 0
        if idle or asyncio.get_running_loop().time() - self._last_save >= SAVE_INTERVAL:
            await self._save()

    def _drop(self, refs: Iterable[ChunkRef], reason: str) -> None:
        for stream, _, n in refs:
            self.telemetry.lines_dropped(stream, n, reason)

    def _account(self, refs: Iterable[ChunkRef], ack: Ack) -> None:
        rejected = dict(ack.rejected)
        refs = list(refs)
        for index, (stream, _, n) in enumerate(refs):
            if index in rejected:
                self.telemetry.lines_dropped(stream, n, f"rejected: {rejected[index]}")
            else:
                self.telemetry.lines_acked(stream, n)
        self.telemetry.batch_acked(len(refs), ack.accepted, ack.duplicates)


async def _done(before: asyncio.Task[None] | None) -> None:
    """Wait for the delivery of the batch sent before (its failure is this batch's too: it
    must not commit past it)."""
    if before is not None:
        await asyncio.shield(before)


def _refs(items: list[Pending]) -> list[ChunkRef]:
    return [(p.chunk.stream, p.chunk.seq, len(p.chunk)) for p in items]
