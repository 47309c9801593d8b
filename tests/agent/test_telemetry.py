"""What a central Prometheus needs from an agent: which host it is for, how much waits in its
queue, how far behind delivery is, and how stale its clock audit is by the monotonic clock."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from agent.delivery import Mark, Pending
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from agent.delivery.shipper import Identity, Shipper
from agent.delivery.spool import Spool
from agent.telemetry import Telemetry
from chronolog.timefmt import now_us
from chronolog.wire import Chunk, ClockView


def pending(read: int, n: int = 2) -> Pending:
    chunk = Chunk("s", 0, read, ClockView(), ["x"] * n, [0] * n, ["read_time"] * n, [None] * n)
    return Pending(chunk, Mark("s", n, {}), 100)


def test_the_info_metric_names_agent_host_and_version() -> None:
    telemetry = Telemetry()
    telemetry.identify("a1f3", "web-1", "1.2.3")
    get = telemetry.registry.get_sample_value
    assert get("chronolog_agent_info", {"agent": "a1f3", "host": "web-1", "version": "1.2.3"}) == 1


async def test_queue_bytes_and_the_lag_of_the_oldest_line_not_yet_acknowledged(tmp_path: Path) -> None:
    telemetry = Telemetry()
    queue = BatchQueue(1 << 20, 0.01, 1 << 20)
    spool, _ = Spool(tmp_path / "spool", 1 << 20, "block").open()
    checkpoints = Checkpoints(tmp_path / "cp.json")
    shipper = Shipper(Identity("a1", "web-1", "UTC"), queue, None, checkpoints, telemetry, 0.01, 0.1, spool)
    telemetry.watch_delivery(lambda: queue.queued_bytes, shipper.oldest_unacked)
    get = telemetry.registry.get_sample_value
    assert (get("chronolog_agent_queue_bytes"), get("chronolog_agent_shipping_lag_seconds")) == (0, 0)
    now = now_us()
    await queue.put(pending(now - 30_000_000))
    await queue.put(pending(now - 10_000_000))
    assert get("chronolog_agent_queue_bytes") == 200
    assert get("chronolog_agent_shipping_lag_seconds") == pytest.approx(30, abs=1)
    spool.append(b"batch", "zstd", [("s", 0, 2)], now - 90_000_000)  # waiting for the collector
    assert get("chronolog_agent_shipping_lag_seconds") == pytest.approx(90, abs=1)


def test_the_audit_age_is_counted_on_the_monotonic_clock() -> None:
    telemetry = Telemetry()
    get = telemetry.registry.get_sample_value
    assert math.isnan(get("chronolog_agent_clock_audit_age_seconds") or 0.0)  # never audited
    # Audited 120 s ago by the monotonic clock, whatever the wall clock says (here: the future).
    telemetry.clock_audited(time.time() + 3600, time.monotonic() - 120)
    assert get("chronolog_agent_clock_audit_age_seconds") == pytest.approx(120, abs=1)
