"""The fleet as Prometheus metrics, computed at scrape time (docs/metrics.md).

Every series names its tenant by an opaque id (``t-`` and 8 hex digits, random, kept with the
registry) unless ``tenant_names`` is on. Cardinality is bounded: per tenant at most
``max_hosts`` hosts are labelled (expected hosts first, then in the order they first
reported: `_priority`) and per host at most ``max_streams`` streams; the rest are counted in
``chronolog_fleet_hosts_unlabelled``, and every per-tenant count includes them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.fleet.service import Fleet
from collector.fleet.state import CLOCK_STATES, STATES, HostView, summarize

__all__ = ["FleetMetrics"]

NAN = float("nan")
US = 1e-6


def _seconds(us: int | None) -> float:
    return NAN if us is None else us * US


def _value(x: float | None) -> float:
    return NAN if x is None else x


class FleetMetrics(Collector):
    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    def describe(self) -> list[Metric]:
        return []  # computed at each scrape: nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        f = _Families()
        config = self.fleet.config.metrics
        for tenant in self.fleet.tenants():
            label = tenant if config.tenant_names else self.fleet.tenant_id(tenant)
            views = self.fleet.views(tenant)
            counts = summarize(views)
            for state in STATES:
                f.hosts.add_metric([label, state], counts[state])
            f.expected.add_metric([label], counts["expected"])
            f.over_budget.add_metric([label], counts["over_budget"])
            labelled = sorted(views, key=_priority)[:config.max_hosts]
            f.unlabelled.add_metric([label], len(views) - len(labelled))
            for view in labelled:
                f.host(label, view, config.max_streams)
        yield from f.all()
        yield from self._collector_clock()

    def _collector_clock(self) -> Iterator[Metric]:
        view = self.fleet.clock.view()
        yield GaugeMetricFamily("chronolog_collector_clock_offset_seconds",
                                "The collector's clock minus UTC, by its own audit (NaN: unknown).",
                                value=_value(view.offset))
        yield GaugeMetricFamily("chronolog_collector_clock_bound_seconds",
                                "Largest error of the collector's clock its audit vouches for (NaN: "
                                "unknown); part of every host's cross-check.", value=_value(view.bound))
        yield GaugeMetricFamily("chronolog_collector_clock_audit_age_seconds",
                                "Seconds since the collector's audit last had a good sample, on the "
                                "monotonic clock (NaN: never).", value=_value(view.audit_age))
        status = GaugeMetricFamily("chronolog_collector_clock_status",
                                   "1 for the collector clock's status (ok, warn, over_budget, unknown).",
                                   labels=["status"])
        for name in CLOCK_STATES:
            status.add_metric([name], 1 if name == view.status else 0)
        yield status


def _priority(view: HostView) -> tuple[bool, float, str]:
    """Expected hosts first, those that never reported before all (their missing alert needs
    a series), then in the order they first reported: a new host never displaces a labelled one."""
    first = view.record.first_seen if view.record is not None else -math.inf
    return (not view.expected, first, view.name)


class _Families:
    def __init__(self) -> None:
        def gauge(name: str, text: str, *labels: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"chronolog_fleet_{name}", text, labels=["tenant", *labels])

        self.hosts = gauge("hosts", "Hosts per state (reporting, silent, missing), labelled or not.", "state")
        self.expected = gauge("hosts_expected", "Hosts in the inventory, including those that never "
                              "reported.")
        self.over_budget = gauge("hosts_over_budget", "Hosts whose clock is over budget, by their "
                                 "claim or by the collector's cross-check.")
        self.unlabelled = gauge("hosts_unlabelled", "Hosts beyond metrics.max_hosts: counted in the "
                                "totals, without series of their own.")
        self.state = gauge("host_state", "1 for the host's state (reporting, silent, missing).",
                           "host", "state")
        self.last_seen = gauge("host_last_seen_timestamp_seconds", "When the last push from the host "
                               "arrived, by the collector's clock (NaN: never).", "host")
        self.lag = gauge("host_lag_seconds", "Shipping lag of the host's latest push: from reading "
                         "its lines to their arrival, on the collector's clock.", "host")
        self.offset = gauge("host_clock_offset_seconds", "The host clock minus UTC as its agent "
                            "claims (NaN: unknown).", "host")
        self.bound = gauge("host_clock_bound_seconds", "The clock error bound its agent claims "
                           "(NaN: unknown).", "host")
        self.clock = gauge("host_clock_status", "1 for the clock status the agent claims (ok, warn, "
                           "over_budget, unknown).", "host", "status")
        self.check_min = gauge("host_crosscheck_min_seconds", "Lower end of the host clock minus "
                               "UTC by the collector's cross-check (NaN: unknown).", "host")
        self.check_max = gauge("host_crosscheck_max_seconds", "Upper end of the host clock minus "
                               "UTC by the collector's cross-check (NaN: unknown).", "host")
        self.disagree = gauge("host_clock_disagreement_seconds", "How far apart the agent's claim and "
                              "the cross-check are (0: they agree; NaN: one is unknown).", "host")
        self.gaps = gauge("host_sequence_gap_lines", "Lines never received: sequence numbers missing "
                          "from the host's streams.", "host")
        self.stream_seen = gauge("stream_last_received_timestamp_seconds", "When lines of the stream "
                                 "last arrived, by the collector's clock.", "host", "stream")
        self.stream_lines = CounterMetricFamily("chronolog_fleet_stream_lines", "Lines of the stream "
                                                "received (resends included).",
                                                labels=["tenant", "host", "stream"])

    def host(self, tenant: str, view: HostView, max_streams: int) -> None:
        labels = [tenant, view.name]
        for state in STATES:
            self.state.add_metric([*labels, state], 1 if view.state == state else 0)
        for status in CLOCK_STATES:
            self.clock.add_metric([*labels, status], 1 if view.clock == status else 0)
        record = view.record
        claim = record.claim if record is not None else None
        check = view.crosscheck
        self.last_seen.add_metric(labels, _seconds(record.last_seen if record else None))
        self.lag.add_metric(labels, _value(record.lag if record else None))
        self.offset.add_metric(labels, _value(claim.offset if claim else None))
        self.bound.add_metric(labels, _value(claim.bound if claim else None))
        self.check_min.add_metric(labels, _value(check[0] if check else None))
        self.check_max.add_metric(labels, _value(check[1] if check else None))
        self.disagree.add_metric(labels, _value(view.disagreement))
        self.gaps.add_metric(labels, view.gaps.lines)
        for name, stream in sorted(record.streams.items())[:max_streams] if record else ():
            self.stream_seen.add_metric([*labels, name], _seconds(stream.last_received))
            self.stream_lines.add_metric([*labels, name], stream.lines)

    def all(self) -> list[Metric]:
        return [m for m in vars(self).values() if isinstance(m, Metric)]
