"""Two batches in flight from a real agent to a real collector, through a proxy that holds
back or fails the first batch and forwards the rest (support/holdproxy.py): the later batch is
taken, yet the agent never commits past the earlier one; stopped then and started again, it
delivers every line exactly once."""

from __future__ import annotations

import json

import pytest
from support.fleet import Fleet
from support.holdproxy import HoldProxy, Policy
from support.processes import wait_for
from support.torture import Writer, assert_exactly_once, ids


@pytest.mark.parametrize("policy", ["hold", "fail"])
def test_a_later_ack_never_commits_past_an_earlier_batch_unanswered_or_failing(fleet: Fleet,
                                                                                 policy: Policy) -> None:
    proxy = HoldProxy(fleet.url, policy)
    try:
        # No spool: a failed batch is retried in memory, so only the order keeps it from being
        # skipped. Small batches: the lines written after the first batch make later ones.
        web = fleet.agent("web-1", url=proxy.url, batch_max_bytes=4096, start=False,
                          extra="[agent.spool]\nmax_bytes = 0\n")
        web.daemon.start()
        writer = Writer(web.log, "order", 2_000, per_write=20, pause=0.01)
        writer.start()
        attempts = 1 if policy == "hold" else 2  # a failing batch: seen retried
        wait_for(lambda: proxy.held >= attempts and proxy.taken, "a later batch taken while the first is not")
        web.daemon.stop()  # drains: the later batch waits for the first, which never comes
        stream = f"file:{web.log}"
        saved = json.loads((fleet.root / "web-1" / "state" / "checkpoints.json").read_bytes())
        assert saved["streams"][stream]["next_seq"] == 0, (proxy.taken, saved["streams"][stream])
        assert saved["ledger"].get(stream, {}).get("acked", 0) == 0
        proxy.release()
        writer.join()
        web.daemon.start()
        fleet.wait_for_lines(writer.written)
        assert_exactly_once(ids(fleet.messages(), "order"), set(range(writer.written)))
        [found] = fleet.streams()
        assert found["gaps"] == [] and found["last_seq"] == writer.written - 1
    finally:
        proxy.close()
