"""Crashes and outages under load: SIGKILL of the agent mid-batch, the collector down for a
while, the collector SIGKILLed mid-ingest."""

from __future__ import annotations

import time

from support.fleet import Fleet
from support.processes import wait_for
from support.torture import Writer, assert_exactly_once, ids


def test_repeated_sigkill_of_the_agent_mid_batch_loses_and_duplicates_nothing(fleet: Fleet) -> None:
    web = fleet.agent("web-1")
    writer = Writer(web.log, "kill", 40_000, per_write=20, pause=0.005)
    writer.start()
    for round_ in range(4):
        arrived = fleet.stream_lines()
        wait_for(lambda arrived=arrived: fleet.stream_lines() > arrived or not writer.is_alive(),
                 f"progress before kill {round_}")
        web.daemon.kill()  # mid-batch: lines read, some sent, not all acknowledged
        web.daemon.start()
    writer.join()
    fleet.wait_for_lines(writer.written)
    assert_exactly_once(ids(fleet.messages(), "kill"), set(range(writer.written)))
    [stream] = fleet.streams()
    assert stream["gaps"] == [] and stream["last_seq"] == writer.written - 1


def test_a_collector_outage_goes_through_the_spool_and_loses_nothing(fleet: Fleet) -> None:
    web = fleet.agent("web-1")
    web.write("first id=99999999")
    fleet.wait_for_lines(1)
    fleet.collector.stop()
    writer = Writer(web.log, "outage", 10_000, per_write=50, pause=0.002)
    writer.start()
    writer.join()
    stream = f"file:{web.log}"
    wait_for(lambda: web.ledger(stream)["spooled"] == writer.written, "every line spooled")
    status = web.status()
    assert status["spool"]["batches"] > 0 and status["spool"]["oldest_age_s"] is not None
    web.daemon.kill()  # the spool is on disk: a crash during the outage loses nothing either
    web.daemon.start()
    fleet.collector.start()
    fleet.wait_for_lines(writer.written + 1)
    assert_exactly_once(ids(fleet.messages(), "outage"), set(range(writer.written)))
    wait_for(lambda: web.status()["spool"]["batches"] == 0, "the spool to empty")
    assert web.ledger(stream)["acked"] == writer.written + 1


def test_the_collector_sigkilled_mid_ingest_loses_and_duplicates_nothing(fleet: Fleet) -> None:
    web = fleet.agent("web-1")
    writer = Writer(web.log, "ingest", 30_000, per_write=40, pause=0.002)
    writer.start()
    for _ in range(2):
        arrived = fleet.stream_lines()
        wait_for(lambda arrived=arrived: fleet.stream_lines() > arrived or not writer.is_alive(),
                 "ingest under way")
        fleet.collector.kill()
        time.sleep(0.5)
        fleet.collector.start()
    writer.join()
    fleet.wait_for_lines(writer.written)
    assert_exactly_once(ids(fleet.messages(), "ingest"), set(range(writer.written)))
    assert web.ledger(f"file:{web.log}")["dropped"] == {}
