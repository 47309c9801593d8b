"""The fleet registry: per tenant and host, what the collector has seen (pure; no IO).

Updated once per push (`Registry.observe`), in time proportional to the batch's chunks, not
its lines; read by the fleet view (`state.py`), the metrics and the hosts API; saved and
loaded as plain documents (`to_doc`, `from_doc`) by `persist.py`. Times are µs since the
epoch: ``first_seen``, ``last_seen`` and ``last_received`` by the collector's clock (when the
push arrived), ``last_read`` and ``last_event`` as the agent stamped them.

Sequence gaps are not kept here: the store knows them (`Store.streams`), and the fleet view
asks it.
"""

from __future__ import annotations

import collections
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

import orjson

from chronolog.wire import Batch, Chunk, ClockView
from collector.fleet.crosscheck import CrossCheck, exchange_interval

__all__ = ["Claim", "HostRecord", "Registry", "StreamRecord", "TenantRecord"]

PENDING_EXCHANGES = 4  # per agent: answers the agent may still report the arrival of
CLOCK_STREAM = "clock"
US = 1e-6


@dataclass(slots=True)
class StreamRecord:
    agent: str  # the agent that sent it last
    last_received: int
    last_read: int
    last_event: int | None
    lag: float  # seconds from read to received, for its latest chunk
    lines: int = 0  # lines received (resends included) since the registry has known it


@dataclass(frozen=True, slots=True)
class Claim:
    """The agent's latest word on its clock: the `ClockView` of its newest chunk (read at
    ``read``, agent's clock), with the time daemon and last good audit from its clock stream."""

    offset: float | None
    bound: float | None
    synced: bool | None
    status: str | None
    source: str | None
    reason: str | None
    read: int
    daemon: str | None = None
    last_good_audit: float | None = None  # seconds since the epoch, by the host's clock

    @property
    def interval(self) -> tuple[float, float] | None:
        """Where the agent says ``host clock - UTC`` lies: the view's offset is the middle of
        its interval and the bound its farthest end."""
        if self.offset is None or self.bound is None:
            return None
        radius = max(0.0, self.bound - abs(self.offset))
        return self.offset - radius, self.offset + radius


@dataclass(slots=True)
class HostRecord:
    first_seen: int
    last_seen: int
    agents: dict[str, int] = field(default_factory=dict)  # agent id -> last seen
    streams: dict[str, StreamRecord] = field(default_factory=dict)
    claim: Claim | None = None
    crosscheck: CrossCheck | None = None
    lag: float | None = None  # seconds: the latest push's largest lag


@dataclass(slots=True)
class TenantRecord:
    id: str  # the opaque id metrics show instead of the name
    hosts: dict[str, HostRecord] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Pending:
    id: str
    sent: int
    arrived: int
    replied: int


class Registry:
    def __init__(self, drift_ppm: float, max_hosts: int = 100_000) -> None:
        self.drift_ppm = drift_ppm
        self.max_hosts = max_hosts
        self.tenants: dict[str, TenantRecord] = {}
        self.dirty: set[str] = set()  # tenants changed since they were last saved
        # Exchanges answered but not yet completed by the agent's report, per (tenant, agent);
        # kept in memory only: after a restart the first push starts anew.
        self._pending: dict[tuple[str, str], collections.deque[_Pending]] = {}
        # Exchange ids: this process's random prefix and a counter (unique across restarts).
        self._nonce = secrets.token_hex(4)
        self._exchanges = itertools.count()

    def tenant(self, name: str) -> TenantRecord:
        found = self.tenants.get(name)
        if found is None:
            found = self.tenants[name] = TenantRecord(new_tenant_id())
            self.dirty.add(name)
        return found

    def observe(self, tenant: str, batch: Batch, arrived: int, received: int,
                answered: tuple[str, int] | None = None) -> HostRecord | None:
        """Take one push into account: ``arrived`` is when its request came in, ``received``
        when its body was read (collector's clock, µs); ``answered`` is the agent's report
        (exchange id, its clock when that answer came back) of an earlier push. None: a new
        host past ``max_hosts``, not taken in."""
        record = self.tenant(tenant)
        host = record.hosts.get(batch.host)
        if host is None:
            if len(record.hosts) >= self.max_hosts:
                return None
            host = record.hosts[batch.host] = HostRecord(received, received)
        host.last_seen = max(host.last_seen, received)
        host.agents[batch.agent] = received
        self._cross_check(host, tenant, batch, arrived, answered)
        offset = host.crosscheck.offset if host.crosscheck is not None else None
        newest: Chunk | None = None
        lag = None
        for chunk in batch.chunks:
            chunk_lag = _lag(received, chunk.read, offset)
            lag = chunk_lag if lag is None else max(lag, chunk_lag)
            self._stream(host, batch.agent, chunk, received, chunk_lag)
            if newest is None or chunk.read >= newest.read:
                newest = chunk
        if lag is not None:
            host.lag = lag
        if newest is not None:
            host.claim = _claim(newest.clock, newest.read, host.claim, batch.chunks)
        self.dirty.add(tenant)
        return host

    def answered(self, tenant: str, agent: str, sent: int, arrived: int, replied: int) -> str:
        """Remember an exchange whose answer leaves now; returns its id for the agent."""
        queue = self._pending.get((tenant, agent))
        if queue is None:
            queue = self._pending[(tenant, agent)] = collections.deque(maxlen=PENDING_EXCHANGES)
        exchange = _Pending(f"{self._nonce}{next(self._exchanges):x}", sent, arrived, replied)
        queue.append(exchange)
        return exchange.id

    def _cross_check(self, host: HostRecord, tenant: str, batch: Batch, arrived: int,
                     answered: tuple[str, int] | None) -> None:
        samples = []  # (lo, hi, when), oldest first
        if answered is not None:
            done = self._complete(tenant, batch.agent, *answered)
            if done is not None:
                samples.append((*exchange_interval(done.sent, done.arrived, done.replied, answered[1]),
                                done.arrived))
        samples.append((*exchange_interval(batch.sent, arrived), arrived))
        for lo, hi, at in samples:
            host.crosscheck = (CrossCheck.first(lo, hi, at) if host.crosscheck is None
                               else host.crosscheck.narrowed(lo, hi, at, self.drift_ppm))

    def _complete(self, tenant: str, agent: str, exchange_id: str, answered: int) -> _Pending | None:
        queue = self._pending.get((tenant, agent))
        for exchange in queue or ():
            if exchange.id == exchange_id:
                queue.remove(exchange)  # type: ignore[union-attr]
                # An answer cannot arrive before it left: the report would be a lie or a step.
                return exchange if answered >= exchange.sent else None
        return None

    def _stream(self, host: HostRecord, agent: str, chunk: Chunk, received: int, lag: float) -> None:
        newest_event = max(chunk.ts) if chunk.ts else None
        stream = host.streams.get(chunk.stream)
        if stream is None:
            host.streams[chunk.stream] = StreamRecord(agent, received, chunk.read, newest_event, lag,
                                                      len(chunk))
            return
        stream.agent = agent
        stream.last_received = received
        stream.last_read = max(stream.last_read, chunk.read)
        if newest_event is not None and (stream.last_event is None or newest_event > stream.last_event):
            stream.last_event = newest_event
        stream.lag = lag
        stream.lines += len(chunk)

    def forget(self, tenant: str) -> None:
        """Drop a tenant (erased)."""
        self.tenants.pop(tenant, None)
        self.dirty.discard(tenant)
        for key in [k for k in self._pending if k[0] == tenant]:
            del self._pending[key]

    def forget_hosts(self, tenant: str, names: list[str]) -> None:
        record = self.tenants.get(tenant)
        if record is not None and names:
            for name in names:
                record.hosts.pop(name, None)
            self.dirty.add(tenant)

    # ---- documents ----------------------------------------------------------------------

    def dump(self, tenant: str) -> bytes:
        """The tenant as JSON (orjson writes the dataclasses as they are: fast enough to do
        between two pushes, so the document never sees a half-made change)."""
        record = self.tenants[tenant]
        return orjson.dumps({"v": 1, "id": record.id, "hosts": record.hosts})

    def load(self, tenant: str, doc: dict[str, Any]) -> None:
        """A tenant as `dump` wrote it (raises KeyError, TypeError or ValueError if it is not)."""
        if doc.get("v") != 1:
            raise ValueError(f"unknown fleet document version {doc.get('v')!r}")
        hosts = {str(name): _host_from(h) for name, h in doc["hosts"].items()}
        self.tenants[tenant] = TenantRecord(str(doc["id"]), hosts)


def new_tenant_id() -> str:
    """An opaque, random name for a tenant in the metrics (nothing to guess it from)."""
    return "t-" + secrets.token_hex(4)


def _lag(received: int, read: int, offset: float | None) -> float:
    """Seconds from read to received, with the read time first moved to the collector's clock
    by the cross-check's estimate of the host clock's offset from it."""
    return (received - read) * US + (offset or 0.0)


def _claim(view: ClockView, read: int, before: Claim | None, chunks: list[Chunk]) -> Claim:
    daemon = before.daemon if before is not None else None
    last_audit = before.last_good_audit if before is not None else None
    for chunk in chunks:
        if chunk.stream != CLOCK_STREAM:
            continue
        for _, fields in chunk.fields:
            if fields.get("kind") in ("sample", "heartbeat"):
                named = fields.get("daemon")
                daemon = named.get("daemon") if isinstance(named, dict) else named
                audit = fields.get("last_good_audit")
                last_audit = float(audit) if isinstance(audit, int | float) else last_audit
    return Claim(view.offset, view.bound, view.synced, view.status, view.source, view.reason, read,
                 daemon if isinstance(daemon, str) else None, last_audit)


def _host_from(doc: dict[str, Any]) -> HostRecord:
    return HostRecord(
        int(doc["first_seen"]), int(doc["last_seen"]), {str(a): int(t) for a, t in doc["agents"].items()},
        {str(name): StreamRecord(**s) for name, s in doc["streams"].items()},
        Claim(**doc["claim"]) if doc["claim"] is not None else None,
        CrossCheck(**doc["crosscheck"]) if doc["crosscheck"] is not None else None,
        doc["lag"])
