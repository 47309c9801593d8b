"""The fleet registry (pure): what one push teaches about its host, the exchange the agent
completes with its next push, and the document it is saved as."""

from __future__ import annotations

import orjson
import pytest

from chronolog.wire import Batch, Chunk, ClockView
from collector.fleet.registry import Claim, Registry

S = 1_000_000
T = 1_800_000_000 * S
AHEAD = ClockView(offset=3.0001, bound=3.0006, synced=True, reason=None, status="over_budget", source="audit")


def chunk(stream: str, seq: int, read: int, ts: list[int], clock: ClockView = AHEAD,
          fields: list[tuple[int, dict[str, object]]] | None = None) -> Chunk:
    n = len(ts)
    return Chunk(stream, seq, read, clock, [f"line {i}" for i in range(n)], ts, ["explicit"] * n, [None] * n,
                 fields=fields or [])


def test_a_push_sets_seen_times_streams_lag_and_the_newest_chunks_claim() -> None:
    registry = Registry(drift_ppm=100)
    older = ClockView(offset=0.0, bound=0.001, synced=True, status="ok", source="audit")
    batch = Batch("agent-1", "web-3", "UTC", T + 3 * S, [
        chunk("file:/var/log/app.log", 0, T + 3 * S - 500_000, [T + 5, T + 9, T + 7], clock=older),
        chunk("journald", 10, T + 3 * S - 100_000, [T + 1]),
    ])
    host = registry.observe("city", batch, arrived=T + 20_000, received=T + 30_000)
    assert (host.first_seen, host.last_seen, host.agents) == (T + 30_000, T + 30_000, {"agent-1": T + 30_000})
    app = host.streams["file:/var/log/app.log"]
    assert (app.agent, app.last_event, app.last_read, app.last_received, app.lines) == (
        "agent-1", T + 9, T + 3 * S - 500_000, T + 30_000, 3)
    # The host is 3 s ahead: only a lower end of the cross-check is known after one push, so
    # the lag is not yet corrected for it.
    assert host.crosscheck is not None and host.crosscheck.hi is None
    assert host.crosscheck.lo == pytest.approx(2.98)
    assert app.lag == pytest.approx(-2.47)
    assert host.claim is not None and host.claim.status == "over_budget"  # the newest chunk's view
    assert host.claim.interval == pytest.approx((2.9996, 3.0006))  # bound = |offset| + radius
    assert "city" in registry.dirty


def test_the_agents_report_of_the_answer_completes_the_exchange_and_corrects_the_lag() -> None:
    registry = Registry(drift_ppm=100)
    first = Batch("agent-1", "web-3", "UTC", T + 3 * S, [chunk("journald", 0, T + 3 * S, [T])])
    registry.observe("city", first, arrived=T + 1_000, received=T + 1_500)
    exchange = registry.answered("city", "agent-1", first.sent, T + 1_000, T + 2_000)
    second = Batch("agent-1", "web-3", "UTC", T + 23 * S, [chunk("journald", 1, T + 23 * S - 400_000, [T])])
    answered = (exchange, T + 3 * S + 2_800)  # the answer arrived 0.8 ms after it left
    host = registry.observe("city", second, arrived=T + 20 * S + 1_000, received=T + 20 * S + 1_500,
                            answered=answered)
    check = host.crosscheck
    assert check is not None and check.hi is not None and check.exchanges == 3
    assert check.lo <= 3.0 <= check.hi and check.hi - check.lo < 0.01
    assert host.streams["journald"].lag == pytest.approx(0.4015, abs=0.005)  # on the collector's clock
    # Reported once: the same report again (a resend) is not used twice.
    again = registry.observe("city", second, arrived=T + 21 * S, received=T + 21 * S, answered=answered)
    assert again.crosscheck is not None and again.crosscheck.exchanges == 4


def test_a_report_of_an_unknown_exchange_or_an_answer_before_the_question_is_ignored() -> None:
    registry = Registry(drift_ppm=100)
    batch = Batch("agent-1", "web-3", "UTC", T, [chunk("journald", 0, T, [T])])
    registry.observe("city", batch, arrived=T, received=T)
    exchange = registry.answered("city", "agent-1", T, T, T + 1_000)
    for answered in (("0123456789ab", T + 5_000), (exchange, T - 5 * S)):
        host = registry.observe("city", batch, arrived=T + S, received=T + S, answered=answered)
        assert host.crosscheck is not None and host.crosscheck.hi is None
    other = registry.answered("city", "agent-1", T, T, T + 1_000)
    host = registry.observe("city", Batch("agent-2", "web-3", "UTC", T, batch.chunks), arrived=T + S,
                            received=T + S, answered=(other, T + 5_000))  # another agent's exchange
    assert host.crosscheck is not None and host.crosscheck.hi is None


def test_the_claim_takes_the_daemon_and_last_good_audit_from_clock_records() -> None:
    registry = Registry(drift_ppm=100)
    sample = {"kind": "sample", "daemon": {"daemon": "chrony", "synced": True}, "last_good_audit": 1.8e9}
    heartbeat = {"kind": "heartbeat", "daemon": "chrony", "last_good_audit": 1.8e9 + 64}
    batch = Batch("agent-1", "web-1", "UTC", T, [chunk("clock", 0, T, [T, T + 1], fields=[(0, sample)])])
    host = registry.observe("city", batch, arrived=T, received=T)
    assert host.claim is not None and (host.claim.daemon, host.claim.last_good_audit) == ("chrony", 1.8e9)
    later = Batch("agent-1", "web-1", "UTC", T, [chunk("file:/a", 0, T + S, [T])])
    host = registry.observe("city", later, arrived=T + S, received=T + S)
    assert host.claim is not None and host.claim.daemon == "chrony"  # kept from before
    beat = Batch("agent-1", "web-1", "UTC", T, [chunk("clock", 2, T + 2 * S, [T], fields=[(0, heartbeat)])])
    host = registry.observe("city", beat, arrived=T + 2 * S, received=T + 2 * S)
    assert host.claim == Claim(3.0001, 3.0006, True, "over_budget", "audit", None, T + 2 * S, "chrony",
                               1.8e9 + 64)


def test_the_saved_document_loads_back_the_same_and_keeps_the_opaque_id() -> None:
    registry = Registry(drift_ppm=100)
    batch = Batch("agent-1", "web-3", "UTC", T, [chunk("journald", 0, T, [T]), chunk("file:/a", 0, T, [T])])
    registry.observe("city", batch, arrived=T, received=T)
    registry.observe("othertown", Batch("agent-9", "db-1", "UTC", T, [chunk("journald", 0, T, [T])]),
                     arrived=T, received=T)
    document = registry.dump("city")
    assert b"othertown" not in document and b"db-1" not in document
    again = Registry(drift_ppm=100)
    again.load("city", orjson.loads(document))
    assert again.tenants["city"] == registry.tenants["city"]
    assert again.tenants["city"].id.startswith("t-") and "city" not in again.tenants["city"].id
    with pytest.raises(ValueError, match="version"):
        again.load("city", {"v": 2, "id": "t-1", "hosts": {}})


def test_forgetting_a_tenant_drops_its_hosts_and_pending_exchanges() -> None:
    registry = Registry(drift_ppm=100)
    batch = Batch("agent-1", "web-3", "UTC", T, [chunk("journald", 0, T, [T])])
    registry.observe("city", batch, arrived=T, received=T)
    exchange = registry.answered("city", "agent-1", T, T, T)
    registry.forget("city")
    assert "city" not in registry.tenants and "city" not in registry.dirty
    host = registry.observe("city", batch, arrived=T + S, received=T + S, answered=(exchange, T + 100))
    assert host.crosscheck is not None and host.crosscheck.hi is None and host.first_seen == T + S


def test_hosts_past_the_maximum_are_not_taken_in() -> None:
    registry = Registry(drift_ppm=100, max_hosts=2)
    for name in ("web-1", "web-2", "made-up-1"):
        registry.observe("city", Batch("agent-x", name, "UTC", T, [chunk("journald", 0, T, [T])]),
                         arrived=T, received=T)
    assert set(registry.tenants["city"].hosts) == {"web-1", "web-2"}
    again = registry.observe("city", Batch("agent-1", "web-1", "UTC", T, [chunk("journald", 1, T + S, [T])]),
                             arrived=T + S, received=T + S)
    assert again is not None and again.last_seen == T + S  # the known ones go on
