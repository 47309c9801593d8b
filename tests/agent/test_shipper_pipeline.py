"""The shipping loop overlaps the wait for one batch's answer with the reservation of the next,
without ever sending a batch before the one before it is settled, or before its numbers are
on record (with a fake sender that holds its answers; the real collector is in the e2e tests)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from agent.delivery import Mark, Pending
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from agent.delivery.sender import Ack, SendError
from agent.delivery.shipper import Identity, Shipper
from agent.delivery.spool import Spool
from agent.telemetry import Telemetry
from chronolog.wire import Chunk, ClockView, decode_batch, decompress


class HeldSender:
    """Answers each POST only when the test releases it; records what was on disk at each send."""

    encoding = "zstd"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sent: list[tuple[list[int], int]] = []  # (seqs in the batch, high_seq on disk)
        self.release = asyncio.Queue[None]()

    async def send(self, body: bytes, encoding: str | None = None) -> Ack:
        seqs = [c.seq for c in decode_batch(decompress(body, "zstd", 1 << 20)).batch.chunks]
        self.sent.append((seqs, Checkpoints(self.path).load().get("s").high_seq))
        await self.release.get()
        return Ack(1, 0, [])


def pending(seq: int) -> Pending:
    chunk = Chunk("s", seq, 0, ClockView(), ["x", "y"], [0, 0], ["read_time"] * 2, [None] * 2)
    return Pending(chunk, Mark("s", seq + 2, {"offset": seq + 2}), 1 << 20)  # one batch each


async def until(condition: object) -> None:
    for _ in range(6000):  # up to a minute: a loaded machine, not the code, is slow
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def test_the_next_batch_is_reserved_while_one_waits_and_sent_after_it(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    checkpoints = Checkpoints(path)
    sender = HeldSender(path)
    queue = BatchQueue(1 << 20, 0.01, 8 << 20)
    shipper = Shipper(Identity("a1", "web-1", "UTC"), queue, sender, checkpoints, Telemetry(),
                      retry_initial=0.001, retry_max=0.002, rng=lambda: random.Random(1))
    for seq in (0, 2, 4):
        await queue.put(pending(seq))
    task = asyncio.create_task(shipper.run())
    await until(lambda: len(sender.sent) == 1)
    # Batch 0 waits for its answer; batch 2's numbers are already on disk, and it is not sent.
    await until(lambda: Checkpoints(path).load().get("s").high_seq == 4)
    assert len(sender.sent) == 1 and Checkpoints(path).load().get("s").next_seq == 0
    sender.release.put_nowait(None)
    await until(lambda: len(sender.sent) == 2)
    sender.release.put_nowait(None)
    await until(lambda: len(sender.sent) == 3)
    sender.release.put_nowait(None)
    await until(lambda: checkpoints.get("s").next_seq == 6)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await shipper.drain()
    assert [seqs for seqs, _ in sender.sent] == [[0], [2], [4]]  # in order
    # Each reserved before it went; the one after it may be reserved too by then (the loop cuts
    # the next batch while this one is sent), never more.
    assert all(seqs[0] + 2 <= high <= seqs[0] + 4 for seqs, high in sender.sent), sender.sent


async def test_drain_finishes_the_batch_in_flight_then_the_reserved_one(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    sender = HeldSender(path)
    queue = BatchQueue(1 << 20, 0.01, 8 << 20)
    checkpoints = Checkpoints(path)
    shipper = Shipper(Identity("a1", "web-1", "UTC"), queue, sender, checkpoints, Telemetry(),
                      retry_initial=0.001, retry_max=0.002, rng=lambda: random.Random(1))
    for seq in (0, 2, 4):
        await queue.put(pending(seq))
    task = asyncio.create_task(shipper.run())
    while len(sender.sent) < 1:
        await asyncio.sleep(0.01)
    task.cancel()  # as the agent stops: batch 0 is in flight, batch 2 reserved, 4 queued
    await asyncio.gather(task, return_exceptions=True)
    for _ in range(3):
        sender.release.put_nowait(None)
    await shipper.drain()
    assert [seqs for seqs, _ in sender.sent] == [[0], [2], [4]]
    assert checkpoints.get("s").next_seq == 6


class AnsweredBySeq:
    """Holds each POST until the test answers it by the first seq in it (an Ack, or a
    SendError to raise), in any order; records what was committed when each was sent."""

    encoding = "zstd"

    def __init__(self, checkpoints: Checkpoints) -> None:
        self.checkpoints = checkpoints
        self.sent: list[int] = []
        self.waiting: dict[int, asyncio.Future[Ack | SendError]] = {}

    async def send(self, body: bytes, encoding: str | None = None) -> Ack:
        [chunk] = decode_batch(decompress(body, encoding or "zstd", 1 << 20)).batch.chunks
        self.sent.append(chunk.seq)
        answer = self.waiting[chunk.seq] = asyncio.get_running_loop().create_future()
        outcome = await answer
        del self.waiting[chunk.seq]
        if isinstance(outcome, SendError):
            raise outcome
        return outcome

    def answer(self, seq: int, outcome: Ack | SendError) -> None:
        self.waiting[seq].set_result(outcome)


async def settle(rounds: int = 20) -> None:
    """Let every task that can run, run (no clock involved: the loop's turns only)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def two_in_flight(tmp_path: Path, spool: Spool | None = None) -> tuple[Shipper, AnsweredBySeq, Telemetry]:
    checkpoints = Checkpoints(tmp_path / "cp.json")
    telemetry = Telemetry()
    shipper = Shipper(Identity("a1", "web-1", "UTC"), BatchQueue(1 << 20, 0.01, 8 << 20),
                      AnsweredBySeq(checkpoints), checkpoints, telemetry, retry_initial=0.001,
                      retry_max=0.002, spool=spool, rng=lambda: random.Random(1), in_flight=2)
    return shipper, shipper.sender, telemetry  # type: ignore[return-value]


def acked(telemetry: Telemetry) -> float:
    return telemetry.registry.get_sample_value("chronolog_agent_lines_acked_total", {"stream": "s"}) or 0.0


async def stop(shipper: Shipper, task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_later_batchs_ack_waits_for_the_earlier_batch_to_commit(tmp_path: Path) -> None:
    shipper, sender, telemetry = two_in_flight(tmp_path)
    for seq in (0, 2, 4):
        await shipper.queue.put(pending(seq))
    task = asyncio.create_task(shipper.run())
    await until(lambda: sender.sent == [0, 2])  # two in flight, the third held back
    sender.answer(2, Ack(2, 0, []))
    await settle()
    # Batch 2 is taken, batch 0 not yet: nothing is committed or counted past batch 0.
    assert shipper.checkpoints.get("s").next_seq == 0
    assert Checkpoints(tmp_path / "cp.json").load().get("s").next_seq == 0
    assert acked(telemetry) == 0
    assert sender.sent == [0, 2]
    sender.answer(0, Ack(2, 0, []))
    await until(lambda: shipper.checkpoints.get("s").next_seq == 4)
    assert acked(telemetry) == 4
    await until(lambda: sender.sent == [0, 2, 4])
    sender.answer(4, Ack(2, 0, []))
    await until(lambda: shipper.checkpoints.get("s").next_seq == 6)
    await stop(shipper, task)


async def test_a_failed_earlier_batch_is_not_skipped_by_a_later_ack(tmp_path: Path) -> None:
    shipper, sender, telemetry = two_in_flight(tmp_path)
    for seq in (0, 2):
        await shipper.queue.put(pending(seq))
    task = asyncio.create_task(shipper.run())
    await until(lambda: sender.sent == [0, 2])
    sender.answer(2, Ack(2, 0, []))
    sender.answer(0, SendError("http 503 store_unavailable", retryable=True))
    await until(lambda: sender.sent == [0, 2, 0])  # batch 0 again, after its back-off
    await settle()
    assert shipper.checkpoints.get("s").next_seq == 0 and acked(telemetry) == 0
    sender.answer(0, Ack(2, 0, []))
    await until(lambda: shipper.checkpoints.get("s").next_seq == 4)
    await stop(shipper, task)
    assert Checkpoints(tmp_path / "cp.json").load().get("s").next_seq == 4
    assert acked(telemetry) == 4


async def test_an_earlier_batch_that_goes_to_the_spool_commits_before_the_later_ack(tmp_path: Path) -> None:
    spool, _ = Spool(tmp_path / "spool", 1 << 20, "block").open()
    shipper, sender, telemetry = two_in_flight(tmp_path, spool)
    for seq in (0, 2):
        await shipper.queue.put(pending(seq))
    task = asyncio.create_task(shipper.run())
    await until(lambda: sender.sent[:2] == [0, 2])
    sender.answer(2, Ack(2, 0, []))
    await settle()
    assert shipper.checkpoints.get("s").next_seq == 0
    sender.answer(0, SendError("connection", retryable=True))  # to the spool, then committed
    await until(lambda: shipper.checkpoints.get("s").next_seq == 4)
    assert telemetry.registry.get_sample_value("chronolog_agent_lines_spooled_total", {"stream": "s"}) == 2
    await until(lambda: sender.sent == [0, 2, 0])  # the spool sender delivers batch 0
    sender.answer(0, Ack(2, 0, []))
    await until(lambda: acked(telemetry) == 4)
    await stop(shipper, task)


async def test_drain_waits_for_every_batch_in_flight_in_order(tmp_path: Path) -> None:
    shipper, sender, telemetry = two_in_flight(tmp_path)
    for seq in (0, 2, 4):
        await shipper.queue.put(pending(seq))
    task = asyncio.create_task(shipper.run())
    await until(lambda: sender.sent == [0, 2])
    await stop(shipper, task)  # as the agent stops: 0 and 2 in flight, 4 reserved
    drain = asyncio.create_task(shipper.drain())
    sender.answer(2, Ack(2, 0, []))
    await settle()
    assert shipper.checkpoints.get("s").next_seq == 0
    sender.answer(0, Ack(2, 0, []))
    await until(lambda: sender.sent == [0, 2, 4])
    sender.answer(4, Ack(2, 0, []))
    await drain
    assert shipper.checkpoints.get("s").next_seq == 6 and acked(telemetry) == 6
