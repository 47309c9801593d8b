"""The spool on a real full file system (a 256 KiB tmpfs) during a collector outage."""

from __future__ import annotations

from pathlib import Path

from support.fleet import AgentHandle, Fleet
from support.processes import wait_for
from support.torture import Writer, assert_exactly_once, ids

LINES = 6000  # about 900 KB of lines that compress to more than the tmpfs holds


def outage_with_a_small_spool(fleet: Fleet, spool: Path, when_full: str) -> tuple[AgentHandle, Writer]:
    web = fleet.agent("web-1", batch_max_bytes=64 << 10,
                      extra=f'[agent.spool]\ndirectory = "{spool}"\nwhen_full = "{when_full}"\n')
    fleet.collector.stop()
    writer = Writer(web.log, "full", LINES, per_write=100, pause=0.001, width=150, noisy=True)
    writer.start()
    writer.join()
    return web, writer


def test_a_full_spool_disk_blocks_the_input_and_loses_nothing(fleet: Fleet, small_tmpfs: Path) -> None:
    web, writer = outage_with_a_small_spool(fleet, small_tmpfs / "spool", "block")
    wait_for(lambda: "spool full" in web.daemon.log.read_text(), "the spool to fill the disk")
    stream = f"file:{web.log}"
    assert 0 < web.ledger(stream)["spooled"] < LINES  # the rest waits in memory and on disk
    fleet.collector.start()
    fleet.wait_for_lines(LINES)
    assert_exactly_once(ids(fleet.messages(), "full"), set(range(writer.written)))
    assert web.ledger(stream)["dropped"] == {}


def test_drop_oldest_on_a_full_spool_disk_counts_every_line_it_drops(
        fleet: Fleet, small_tmpfs: Path) -> None:
    web, writer = outage_with_a_small_spool(fleet, small_tmpfs / "spool", "drop_oldest")
    stream = f"file:{web.log}"
    wait_for(lambda: web.ledger(stream)["dropped"].get("spool_full", 0) > 0, "the oldest to be dropped")
    wait_for(lambda: web.ledger(stream)["read"] == LINES, "every line read")
    fleet.collector.start()
    wait_for(lambda: web.status()["spool"]["batches"] == 0, "the spool to drain", timeout=60)
    wait_for(lambda: web.status()["queued_bytes"] == 0, "the queue to drain")
    dropped = web.ledger(stream)["dropped"]["spool_full"]
    received = ids(fleet.messages(), "full")
    assert_exactly_once(received, set(range(writer.written)), dropped=dropped)
    assert min(set(range(LINES)) - set(received)) == 0  # the oldest lines went first
