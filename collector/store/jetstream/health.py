"""The NATS cluster's health as Prometheus metrics, read from the servers' HTTP monitoring
endpoints (``/healthz``, ``/varz``, ``/jsz``): NATS has no Prometheus endpoint of its own.

A stream has quorum when a server that answers says it leads the stream and a majority of
its replicas (the leader included) are current. The leader's view decides: another server may
still name a leader that died. A stream seen before that no answering server leads (its
servers are all down, say) counts as without quorum too.

Streams are reported by kind (``wal``, ``catalog``, ``leases``, ``segments``, ``audit``), never by
tenant: a tenant's name stays out of the metrics.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

__all__ = ["ClusterHealth", "StreamView", "streams_in", "watch"]

log = logging.getLogger("collector.store")

KINDS = ("wal", "catalog", "leases", "segments", "audit")


@dataclass(frozen=True, slots=True)
class StreamView:
    """One stream as the server leading it sees it."""

    name: str
    replicas: int  # the leader included
    current: int  # replicas current with the leader, the leader included

    @property
    def quorum(self) -> bool:
        return self.current > self.replicas // 2


def _fetch(url: str) -> Any:
    # An http(s) URL from the configuration (checked there).
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
        return json.loads(response.read())


def streams_in(server: str, jsz: dict[str, Any]) -> tuple[list[StreamView], set[str]]:
    """The streams ``server`` (its name) leads, and every stream it holds a replica of, from
    its ``/jsz?accounts=true&streams=true``."""
    led, held = [], set()
    for account in jsz.get("account_details") or []:
        for stream in account.get("stream_detail") or []:
            held.add(str(stream["name"]))
            cluster = stream.get("cluster") or {}
            if cluster.get("leader") != server:
                continue
            others = [r for r in cluster.get("replicas") or [] if r.get("name") != server]
            led.append(StreamView(str(stream["name"]), 1 + len(others),
                                  1 + sum(1 for r in others if r.get("current"))))
    return led, held


def kind_of(stream: str, prefix: str) -> str | None:
    """Which of this deployment's streams ``stream`` is; None for another deployment's."""
    names = {f"{prefix}-wal": "wal", f"KV_{prefix}-catalog": "catalog", f"KV_{prefix}-leases": "leases",
             f"{prefix}-audit": "audit"}
    if stream in names:
        return names[stream]
    if stream.startswith(f"OBJ_{prefix}-seg-"):
        return "segments"
    return None


@dataclass
class ClusterHealth:
    """The gauges, and what one round of polling found."""

    registry: CollectorRegistry
    monitor_urls: list[str]
    prefix: str
    location: str
    known: set[str] = field(default_factory=set)  # every stream of ours seen so far

    def __post_init__(self) -> None:
        r = self.registry
        self.healthy = Gauge("chronolog_nats_server_healthy", "1 if the NATS server's /healthz says ok, "
                             "by monitoring URL.", ["server"], registry=r)
        self.streams = Gauge("chronolog_nats_streams", "This deployment's JetStream streams, by kind "
                             "(wal, catalog, leases, segments, audit).", ["kind"], registry=r)
        self.no_quorum = Gauge("chronolog_nats_streams_without_quorum", "Streams no answering server "
                               "leads with a majority of current replicas, by kind.", ["kind"], registry=r)
        self.lagging = Gauge("chronolog_nats_stream_replicas_behind", "Replicas not current with their "
                             "stream's leader, summed by kind.", ["kind"], registry=r)
        info = Gauge("chronolog_collector_store_info", "The store this collector uses and where it "
                     "declares its data is (data residency).", ["backend", "location"], registry=r)
        info.labels("jetstream", self.location).set(1)
        for url in self.monitor_urls:
            self.healthy.labels(url)
        for kind in KINDS:
            self.streams.labels(kind)
            self.no_quorum.labels(kind)
            self.lagging.labels(kind)

    def poll(self) -> None:
        """Read every server once and set the gauges (blocking)."""
        led: dict[str, StreamView] = {}
        held: set[str] = set()
        answered = 0
        for url in self.monitor_urls:
            base = url.rstrip("/")
            try:
                self.healthy.labels(url).set(1 if _fetch(f"{base}/healthz").get("status") == "ok" else 0)
            except (OSError, ValueError):  # down, or 503 (not current): unhealthy
                self.healthy.labels(url).set(0)
            try:
                name = str(_fetch(f"{base}/varz")["server_name"])
                views, names = streams_in(name, _fetch(f"{base}/jsz?accounts=true&streams=true"))
            except (OSError, ValueError, KeyError) as e:
                log.debug("NATS monitoring endpoint unreadable", extra={"url": url, "error": str(e)})
                continue
            answered += 1
            led.update((v.name, v) for v in views if kind_of(v.name, self.prefix) is not None)
            held |= {n for n in names if kind_of(n, self.prefix) is not None}
        # With most servers answering, a stream none of them holds was deleted (an erased
        # tenant's bucket); with fewer, it may be on the silent ones: still expected.
        self.known = held if answered * 2 > len(self.monitor_urls) else self.known | held
        counts = {k: [0, 0, 0] for k in KINDS}  # streams, without quorum, replicas behind
        for name in self.known:
            kind = kind_of(name, self.prefix)
            assert kind is not None
            view = led.get(name)
            counts[kind][0] += 1
            counts[kind][1] += view is None or not view.quorum
            counts[kind][2] += 0 if view is None else view.replicas - view.current
        for kind, (streams, without, behind) in counts.items():
            self.streams.labels(kind).set(streams)
            self.no_quorum.labels(kind).set(without)
            self.lagging.labels(kind).set(behind)


async def watch(health: ClusterHealth, interval: float = 10.0) -> None:
    """Poll until cancelled."""
    while True:
        await asyncio.to_thread(health.poll)
        await asyncio.sleep(interval)
