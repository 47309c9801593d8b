"""The shipper's delivery rule, with a fake sender (the real one is in the e2e tests)."""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.delivery import Mark, Pending
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from agent.delivery.sender import Ack, SendError
from agent.delivery.shipper import SPOOL_FULL, Identity, Shipper
from agent.delivery.spool import Spool
from agent.telemetry import Telemetry
from chronolog.wire import Chunk, ClockView, decode_batch, decompress


class FakeSender:
    """Answers from a script: a SendError to raise or an Ack to return, in order."""

    encoding = "zstd"

    def __init__(self, script: list[SendError | Ack | None], checkpoints: Checkpoints) -> None:
        self.script = script
        self.checkpoints = checkpoints
        self.bodies: list[bytes] = []
        self.committed_at_send: list[int] = []

    async def send(self, body: bytes, encoding: str | None = None) -> Ack:
        self.bodies.append(body)
        self.committed_at_send.append(self.checkpoints.get("s").next_seq)
        answer = self.script.pop(0) if self.script else None
        if isinstance(answer, SendError):
            raise answer
        if isinstance(answer, Ack):
            return answer
        return Ack(1, 0, [])


def pending(seq: int, n: int = 2) -> Pending:
    chunk = Chunk("s", seq, 0, ClockView(), ["x"] * n, [0] * n, ["read_time"] * n, [None] * n)
    return Pending(chunk, Mark("s", seq + n, {"offset": (seq + n) * 10}), 10)


def make(tmp_path: Path, script: list[SendError | Ack | None]) -> tuple[Shipper, FakeSender, Telemetry]:
    cp = Checkpoints(tmp_path / "cp.json")
    sender = FakeSender(script, cp)
    telemetry = Telemetry()
    shipper = Shipper(Identity("a1", "web-1", "Asia/Tokyo"), BatchQueue(1 << 20, 0.01, 1 << 20),
                      sender, cp, telemetry, retry_initial=0.001, retry_max=0.002,
                      rng=lambda: random.Random(1))
    return shipper, sender, telemetry


def sample(telemetry: Telemetry, name: str, **labels: str) -> float:
    value = telemetry.registry.get_sample_value(name, labels)
    return value or 0.0


async def test_offsets_are_committed_only_after_the_ack(tmp_path: Path) -> None:
    outage = SendError("connection", retryable=True, detail="ClientConnectorError: 127.0.0.1:9 refused")
    shipper, sender, telemetry = make(tmp_path, [outage, outage, Ack(2, 0, [])])
    await shipper.ship([pending(0)])
    assert len(sender.bodies) == 3
    assert sender.committed_at_send == [0, 0, 0]  # nothing committed while unacknowledged
    saved = Checkpoints(tmp_path / "cp.json").load().get("s")
    assert (saved.next_seq, saved.position) == (2, {"offset": 20})
    assert sample(telemetry, "chronolog_agent_lines_acked_total", stream="s") == 2
    assert sample(telemetry, "chronolog_agent_send_failures_total", reason="connection") == 2


async def test_numbers_in_flight_are_reserved_before_sending(tmp_path: Path) -> None:
    shipper, sender, _ = make(tmp_path, [SendError("connection", True), Ack(2, 0, [])])
    original = sender.send

    async def send_and_check(body: bytes) -> Ack:
        assert Checkpoints(tmp_path / "cp.json").load().get("s").high_seq == 2
        return await original(body)

    sender.send = send_and_check  # type: ignore[method-assign]
    await shipper.ship([pending(0)])


async def test_a_permanently_refused_batch_is_dropped_with_its_reason(tmp_path: Path) -> None:
    shipper, sender, telemetry = make(tmp_path, [SendError("http 400 bad_batch", retryable=False)])
    await shipper.ship([pending(0, 3)])
    assert len(sender.bodies) == 1
    assert sample(telemetry, "chronolog_agent_lines_dropped_total", stream="s",
                  reason="http 400 bad_batch") == 3
    assert Checkpoints(tmp_path / "cp.json").load().get("s").next_seq == 3


async def test_a_rejected_chunk_is_counted_and_the_rest_acked(tmp_path: Path) -> None:
    shipper, _, telemetry = make(tmp_path, [Ack(2, 0, [(1, "ts: bad")])])
    await shipper.ship([pending(0), pending(2)])
    assert sample(telemetry, "chronolog_agent_lines_acked_total", stream="s") == 2
    dropped = sample(telemetry, "chronolog_agent_lines_dropped_total", stream="s", reason="rejected: ts: bad")
    assert dropped == 2


async def test_the_body_is_a_valid_compressed_batch(tmp_path: Path) -> None:
    shipper, sender, _ = make(tmp_path, [])
    await shipper.ship([pending(0), pending(2)])
    batch = decode_batch(decompress(sender.bodies[0], "zstd", 1 << 20)).batch
    assert (batch.agent, batch.host, [c.seq for c in batch.chunks]) == ("a1", "web-1", [0, 2])


async def test_drain_ships_the_interrupted_batch_before_later_ones(tmp_path: Path) -> None:
    shipper, sender, _ = make(tmp_path, [])
    shipper._next = [pending(0)]  # reserved, not yet sent, as run leaves it when cancelled
    await shipper.queue.put(pending(2))
    await shipper.drain()
    seqs = [[c.seq for c in decode_batch(decompress(b, "zstd", 1 << 20)).batch.chunks] for b in sender.bodies]
    assert seqs == [[0], [2]]


@pytest.mark.parametrize("attempt", [0, 3, 40])
def test_backoff_grows_is_capped_and_jittered(attempt: int) -> None:
    from agent.delivery.backoff import backoff_delay
    rng = random.Random(7)
    delays = [backoff_delay(attempt, 0.5, 60.0, rng) for _ in range(200)]
    ceiling = min(60.0, 0.5 * 2**attempt)
    assert all(ceiling / 2 <= d < ceiling for d in delays)
    assert len(set(delays)) > 150


# -- with a spool --

def make_spooled(tmp_path: Path, script: list[SendError | Ack | None], max_bytes: int = 1 << 20,
                 when_full: str = "block") -> tuple[Shipper, FakeSender, Telemetry, Spool]:
    telemetry = Telemetry()
    cp = Checkpoints(tmp_path / "cp.json", telemetry.ledger)
    sender = FakeSender(script, cp)
    spool, _ = Spool(tmp_path / "spool", max_bytes, when_full).open()  # type: ignore[arg-type]
    shipper = Shipper(Identity("a1", "web-1", "Asia/Tokyo"), BatchQueue(1 << 20, 0.01, 1 << 20),
                      sender, cp, telemetry, retry_initial=0.001, retry_max=0.002, spool=spool,
                      rng=lambda: random.Random(1))
    return shipper, sender, telemetry, spool


OUTAGE = SendError("connection: refused", retryable=True)


async def test_an_unreachable_collector_spools_the_batch_and_commits_it(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shipper, sender, telemetry, spool = make_spooled(tmp_path, [OUTAGE])
    with caplog.at_level(logging.INFO, logger="agent"):
        await shipper.ship([pending(0)])
    assert [r.getMessage() for r in caplog.records][-1] == "collector unreachable; batch spooled"
    assert len(sender.bodies) == 1 and len(spool) == 1
    saved = Checkpoints(tmp_path / "cp.json").load().get("s")
    assert saved.next_seq == 2  # committed: fsync'd in the spool
    assert sample(telemetry, "chronolog_agent_lines_spooled_total", stream="s") == 2
    assert sample(telemetry, "chronolog_agent_lines_acked_total", stream="s") == 0
    await shipper.ship([pending(2)])  # behind the spool, without trying the collector
    assert len(sender.bodies) == 1 and len(spool) == 2
    task = asyncio.create_task(shipper.send_spooled())
    await asyncio.wait_for(_until(lambda: len(spool) == 0), 5)
    task.cancel()
    seqs = [[c.seq for c in decode_batch(decompress(b, "zstd", 1 << 20)).batch.chunks] for b in sender.bodies]
    assert seqs == [[0], [0], [2]]  # the failed attempt, then the spool oldest first
    assert sample(telemetry, "chronolog_agent_lines_acked_total", stream="s") == 4
    assert os.listdir(tmp_path / "spool") == []


async def test_a_generated_stream_is_spooled_before_it_is_sent(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shipper, sender, _, spool = make_spooled(tmp_path, [])
    item = pending(0)
    with caplog.at_level(logging.INFO, logger="agent"):
        await shipper.ship([Pending(item.chunk, item.mark, item.size, generated=True)])
    assert sender.bodies == [] and len(spool) == 1
    assert "unreachable" not in caplog.text  # the collector is fine: this is the generated rule


async def test_a_generated_chunk_is_spooled_alone_and_holds_no_other_line_back(tmp_path: Path) -> None:
    # Under load a clock record shares its batch with a file's lines: only the record goes to
    # the spool, and while the spool holds nothing but generated lines the file's batches go
    # straight to a collector that takes them (they once all went through the disk: issue 13).
    shipper, sender, telemetry, spool = make_spooled(tmp_path, [])
    record = Pending(Chunk("clock", 0, 0, ClockView(), ["r"], [0], ["read_time"], [None]),
                     Mark("clock", 1, {}), 10, generated=True)
    await shipper.ship([record, pending(0)])
    await shipper.ship([pending(2)])
    entry = spool.oldest()
    assert entry is not None and entry.chunks == (("clock", 0, 1),) and len(spool) == 1
    sent = [[c.seq for c in decode_batch(decompress(b, "zstd", 1 << 20)).batch.chunks] for b in sender.bodies]
    assert sent == [[0], [2]]
    assert sample(telemetry, "chronolog_agent_lines_spooled_total", stream="s") == 0
    assert sample(telemetry, "chronolog_agent_lines_spooled_total", stream="clock") == 1
    assert Checkpoints(tmp_path / "cp.json").load().get("s").next_seq == 4


async def test_what_an_earlier_run_left_in_the_spool_holds_new_batches_back(tmp_path: Path) -> None:
    shipper, sender, _, spool = make_spooled(tmp_path, [])
    spool.append(b"left", "zstd", [("clock", 0, 1)], 0)  # a generated stream this run has not seen
    await shipper.ship([pending(0)])
    assert sender.bodies == [] and len(spool) == 2


async def test_drop_oldest_counts_what_it_deleted(tmp_path: Path) -> None:
    shipper, _, telemetry, spool = make_spooled(tmp_path, [OUTAGE] * 10, max_bytes=700,
                                                 when_full="drop_oldest")
    for seq in range(0, 10, 2):
        await shipper.ship([pending(seq)])
    dropped = sample(telemetry, "chronolog_agent_lines_dropped_total", stream="s", reason=SPOOL_FULL)
    spooled = sample(telemetry, "chronolog_agent_lines_spooled_total", stream="s")
    assert spooled == 10 and dropped > 0
    assert dropped + 2 * len(spool) == 10  # every line is in the spool or counted as dropped


async def test_a_full_spool_under_block_waits_until_the_collector_takes_the_batch(tmp_path: Path) -> None:
    shipper, sender, telemetry, spool = make_spooled(tmp_path, [OUTAGE, OUTAGE, OUTAGE, Ack(2, 0, [])],
                                                      max_bytes=1)
    await shipper.ship([pending(0)])
    assert len(spool) == 0 and len(sender.bodies) == 4
    assert sample(telemetry, "chronolog_agent_lines_acked_total", stream="s") == 2
    assert sample(telemetry, "chronolog_agent_spool_full_total") == 2


async def test_the_ledger_is_saved_with_the_positions(tmp_path: Path) -> None:
    shipper, _, _, _ = make_spooled(tmp_path, [SendError("http 400 bad_batch", retryable=False)])
    await shipper.ship([pending(0, 3)])
    restored = Telemetry()
    Checkpoints(tmp_path / "cp.json", restored.ledger).load()
    [stream] = restored.ledger.report()
    assert (stream.stream, stream.dropped) == ("s", {"http 400 bad_batch": 3})
    assert sample(restored, "chronolog_agent_lines_dropped_total", stream="s",
                  reason="http 400 bad_batch") == 3


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.01)


# ---- Retry-After (issue 16): an overloaded collector says when to come back ------------------

@pytest.mark.parametrize("retry_after, expected", [(None, (0.25, 0.5)), (7.0, (7.0, 7.0)),
                                                   (0.1, (0.25, 0.5)), (86_400.0, (600.0, 600.0))])
def test_a_retry_waits_at_least_what_the_collector_asks_and_at_most_ten_minutes(
        retry_after: float | None, expected: tuple[float, float]) -> None:
    from agent.delivery.backoff import retry_delay
    delay = retry_delay(0, 0.5, 60.0, random.Random(3), retry_after)
    assert expected[0] <= delay <= expected[1]


@pytest.mark.parametrize("header, seconds", [
    ("3", 3.0), (" 120 ", 120.0), (None, None), ("soon", None), ("-5", None), ("1.5", None), ("٣", None),
    ("Sun, 06 Dec 2026 11:00:30 GMT", 30.0), ("Sun, 06 Dec 2026 10:59:00 GMT", 0.0),
    ("Sun, 06 Dec 2026 11:00:30 -0000", None),
])
def test_retry_after_is_read_as_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    from agent.delivery.backoff import parse_retry_after
    now = 1796554800.0  # 2026-12-06T11:00:00Z
    assert parse_retry_after(header, now) == seconds


async def test_the_shipper_waits_as_long_as_the_collector_asks(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    busy = SendError("http 503 overloaded", retryable=True, retry_after=0.3)
    shipper, sender, _ = make(tmp_path, [busy, Ack(2, 0, [])])
    with caplog.at_level("WARNING", logger="agent"):
        await shipper.ship([pending(0)])
    assert len(sender.bodies) == 2
    [failure] = [r for r in caplog.records if r.getMessage() == "delivery failed; will retry"]
    assert failure.retry_in_s == 0.3  # type: ignore[attr-defined]  (retry_max is 0.002 here)


async def test_the_real_sender_reads_retry_after_from_a_503() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from agent.delivery.sender import HttpSender

    async def busy(_: web.Request) -> web.Response:
        return web.json_response({"error": "overloaded", "detail": "at its limit"}, status=503,
                                 headers={"Retry-After": "4"})

    app = web.Application()
    app.router.add_post("/v1/push", busy)
    async with TestServer(app) as server:
        url = str(server.make_url(""))
        async with HttpSender(url, None, 10.0, "identity") as sender:
            with pytest.raises(SendError) as info:
                await sender.send(b"{}")
    e = info.value
    assert (e.retryable, e.retry_after, e.reason) == (True, 4.0, "http 503 overloaded")
