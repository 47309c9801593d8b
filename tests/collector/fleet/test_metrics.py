"""The fleet's metrics: per host and per tenant, tenants by opaque id unless names are allowed,
and bounded: hosts past the maximum are counted, not labelled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from support.stores import make_store

from chronolog.timefmt import now_us
from chronolog.wire import Batch, Chunk, ClockView
from collector.fleet.config import CollectorClockConfig, ExpectedHosts, FleetConfig, FleetMetricsConfig
from collector.fleet.metrics import FleetMetrics
from collector.fleet.service import Fleet
from collector.store.local import LocalStore

AHEAD = ClockView(offset=3.0001, bound=3.0006, synced=True, status="over_budget", source="audit")
GOOD = ClockView(offset=0.0001, bound=0.0005, synced=True, status="ok", source="audit")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    s = make_store(tmp_path / "data")
    yield s
    s.close()


def fleet_of(store: LocalStore, **metrics: object) -> tuple[Fleet, CollectorRegistry]:
    config = FleetConfig(clock=CollectorClockConfig(servers=[]), metrics=FleetMetricsConfig(**metrics),
                         expected=[ExpectedHosts(tenant="city", hosts=["web-1", "web-2", "web-3", "db-9"])])
    fleet = Fleet(config, store)
    registry = CollectorRegistry()
    registry.register(FleetMetrics(fleet))
    return fleet, registry


def push(fleet: Fleet, host: str, clock: ClockView, streams: tuple[str, ...] = ("journald",)) -> None:
    now = now_us()
    chunks = [Chunk(s, 0, now, clock, ["a", "b"], [now, now], ["explicit"] * 2, [None] * 2) for s in streams]
    fleet.observe("city", Batch(f"agent-{host}", host, "UTC", now, chunks), now, now, None)


def test_hosts_and_tenants_by_opaque_id(store: LocalStore) -> None:
    fleet, registry = fleet_of(store)
    push(fleet, "web-1", GOOD, ("journald", "file:/var/log/app.log"))
    push(fleet, "web-3", AHEAD)
    tenant = fleet.tenant_id("city")
    get = registry.get_sample_value
    assert get("chronolog_fleet_hosts", {"tenant": tenant, "state": "reporting"}) == 2
    assert get("chronolog_fleet_hosts", {"tenant": tenant, "state": "missing"}) == 2  # web-2, db-9
    assert get("chronolog_fleet_hosts_expected", {"tenant": tenant}) == 4
    assert get("chronolog_fleet_hosts_over_budget", {"tenant": tenant}) == 1
    assert get("chronolog_fleet_host_state", {"tenant": tenant, "host": "db-9", "state": "missing"}) == 1
    assert get("chronolog_fleet_host_clock_status", {"tenant": tenant, "host": "web-3",
                                                     "status": "over_budget"}) == 1
    assert get("chronolog_fleet_host_clock_offset_seconds", {"tenant": tenant, "host": "web-3"}) == 3.0001
    assert get("chronolog_fleet_stream_lines_total", {"tenant": tenant, "host": "web-1",
                                                      "stream": "file:/var/log/app.log"}) == 2
    assert get("chronolog_collector_clock_status", {"status": "unknown"}) == 1
    text = generate_latest(registry).decode()
    assert 'tenant="city"' not in text and "city" not in text


def test_names_instead_of_ids_when_allowed(store: LocalStore) -> None:
    fleet, registry = fleet_of(store, tenant_names=True)
    push(fleet, "web-1", GOOD)
    assert registry.get_sample_value("chronolog_fleet_hosts_expected", {"tenant": "city"}) == 4


def test_hosts_past_the_maximum_are_counted_not_labelled(store: LocalStore) -> None:
    fleet, registry = fleet_of(store, max_hosts=3, max_streams=1)
    for name in ("web-1", "zz-unexpected", "web-2", "web-3"):
        push(fleet, name, GOOD, ("journald", "file:/a"))
    tenant = fleet.tenant_id("city")
    get = registry.get_sample_value
    assert get("chronolog_fleet_hosts_unlabelled", {"tenant": tenant}) == 2  # of 5 with db-9
    assert get("chronolog_fleet_hosts", {"tenant": tenant, "state": "reporting"}) == 4  # all counted
    labelled = {s.labels["host"] for m in registry.collect() if m.name == "chronolog_fleet_host_state"
                for s in m.samples}
    assert labelled == {"db-9", "web-1", "web-2"}  # expected first, then in order of first report
    streams = {s.labels["stream"] for m in registry.collect() if m.name == "chronolog_fleet_stream_lines"
               for s in m.samples}
    assert streams == {"file:/a"}  # one per host
