"""The clock stream: records become chunks in the shared queue, numbered after the highest
number ever sent, so a restart never reuses one the collector may hold."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent.clock.records import STREAM, ClockRecord, ClockRecorder
from agent.delivery import Mark
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from agent.telemetry import Telemetry
from chronolog.wire import ClockView

VIEW = ClockView(offset=0.001, bound=0.003, status="ok", source="audit")


def record(i: int) -> ClockRecord:
    return ClockRecord(1_700_000_000_000_000 + i, f"clock step: {i}", {"kind": "step", "seconds": i})


async def test_records_are_numbered_from_high_seq_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.json"
    before = Checkpoints(path)
    before.commit([Mark(STREAM, 10, {})])  # acknowledged up to 10 ...
    before.reserve([Mark(STREAM, 14, {})])  # ... and 10-13 sent, not acknowledged, when it died
    before.save()
    queue = BatchQueue(1 << 20, 0.01, 1 << 20)
    recorder = ClockRecorder(queue, Checkpoints(path).load(), lambda: VIEW, Telemetry())
    task = asyncio.create_task(recorder.run())
    recorder.add(record(1))
    recorder.add(record(2))
    [pending] = await asyncio.wait_for(queue.next_batch(), 5)
    task.cancel()
    chunk = pending.chunk
    assert (chunk.stream, chunk.seq, chunk.msg) == (STREAM, 14, ["clock step: 1", "clock step: 2"])
    assert chunk.src == ["explicit", "explicit"]
    assert chunk.ts == [1_700_000_000_000_001, 1_700_000_000_000_002]
    assert chunk.fields == [(0, {"kind": "step", "seconds": 1}), (1, {"kind": "step", "seconds": 2})]
    assert chunk.clock == VIEW
    assert pending.mark == Mark(STREAM, 16, {})


async def test_a_full_backlog_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    telemetry = Telemetry()
    recorder = ClockRecorder(BatchQueue(1 << 20, 0.01, 1 << 20), Checkpoints(tmp_path / "c.json"),
                             lambda: VIEW, telemetry, backlog=3)
    for i in range(5):
        recorder.add(record(i))
    assert telemetry.registry.get_sample_value(
        "chronolog_agent_lines_dropped_total", {"stream": STREAM, "reason": "clock_backlog_full"}) == 2
    task = asyncio.create_task(recorder.run())
    [pending] = await asyncio.wait_for(recorder.queue.next_batch(), 5)
    task.cancel()
    assert pending.chunk.msg == ["clock step: 2", "clock step: 3", "clock step: 4"]
