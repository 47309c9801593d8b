"""The fleet role: the registry, the inventory, the collector's own clock and the files, put
together for ingest (`observe`), the hosts API and the metrics (`views`), and run (`run`:
the clock audit and the periodic save)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from chronolog.clock.bound import Interval
from chronolog.timefmt import now_us, to_rfc3339
from chronolog.wire import Batch
from collector.fleet.config import FleetConfig
from collector.fleet.inventory import Inventory
from collector.fleet.persist import FleetFiles
from collector.fleet.registry import Registry
from collector.fleet.selfclock import CollectorClock
from collector.fleet.state import Gaps, HostView, Thresholds, view_fleet
from collector.store import Store

__all__ = ["Fleet"]

log = logging.getLogger("collector.fleet")


class Fleet:
    """With ``directory`` the registry is kept there across restarts; without, in memory only."""

    def __init__(self, config: FleetConfig, store: Store, directory: Path | None = None) -> None:
        self.config = config
        self.store = store
        self.registry = Registry(config.drift_ppm, config.max_hosts)
        self._full: set[str] = set()  # tenants whose registry is full, said once
        self.inventory = Inventory(config.expected)
        self.clock = CollectorClock(config.clock)
        self.files = FleetFiles(directory) if directory is not None else None
        self.started = now_us()
        self.limits = Thresholds(config.silent_after, config.missing_after, config.clock.budget)

    def load(self) -> Fleet:
        """Read the saved registry (blocking)."""
        if self.files is not None:
            self.files.load(self.registry)
        return self

    # ---- ingest ---------------------------------------------------------------------------

    def observe(self, tenant: str, batch: Batch, arrived: int, received: int,
                answered: tuple[str, int] | None) -> str:
        """Take a push into account; returns the id of its exchange, for the agent to report
        when the answer reached it (docs/wire.md). Called just before the answer leaves."""
        taken = self.registry.observe(tenant, batch, arrived, received, answered)
        if taken is None and tenant not in self._full:
            self._full.add(tenant)
            log.warning("fleet registry full: hosts beyond fleet.max_hosts are not shown (their lines "
                        "are stored)", extra={"tenant": tenant, "max_hosts": self.config.max_hosts})
        return self.registry.answered(tenant, batch.agent, batch.sent, arrived, now_us())

    # ---- reading --------------------------------------------------------------------------

    def tenants(self) -> list[str]:
        """Tenants with hosts seen or expected."""
        return sorted(set(self.registry.tenants) | self.inventory.tenants())

    def tenant_id(self, tenant: str) -> str:
        return self.registry.tenant(tenant).id

    def views(self, tenant: str, now: int | None = None) -> list[HostView]:
        """Every host of ``tenant``, judged now."""
        now = now_us() if now is None else now
        collector = self.clock.view().interval
        return view_fleet(self.registry.tenants.get(tenant), self.inventory.expected(tenant),
                          self._gaps(tenant), now, self.started, self.limits, collector)

    def collector_interval(self) -> Interval | None:
        return self.clock.view().interval

    def _gaps(self, tenant: str) -> dict[str, Gaps]:
        gaps: dict[str, Gaps] = {}
        for report in self.store.streams(tenant):
            found = Gaps(len(report.gaps), sum(end - start for start, end in report.gaps))
            gaps[report.agent] = gaps.get(report.agent, Gaps()) + found
        return gaps

    def hosts_of_agents(self, tenant: str) -> dict[str, str]:
        """Agent id -> the host it last sent as."""
        record = self.registry.tenants.get(tenant)
        found: dict[str, tuple[int, str]] = {}
        for name, host in (record.hosts.items() if record is not None else ()):
            for agent, seen in host.agents.items():
                if agent not in found or seen > found[agent][0]:
                    found[agent] = (seen, name)
        return {agent: name for agent, (_, name) in found.items()}

    def stream_last_seen(self, tenant: str, host: str | None, stream: str, zone: str) -> str | None:
        """When lines of ``stream`` from ``host`` last arrived (RFC 3339 in ``zone``)."""
        record = self.registry.tenants.get(tenant)
        found = record.hosts.get(host) if record is not None and host is not None else None
        seen = found.streams.get(stream) if found is not None else None
        return to_rfc3339(seen.last_received, zone) if seen is not None else None

    # ---- upkeep ---------------------------------------------------------------------------

    def forget(self, tenant: str) -> None:
        """An erased tenant: nothing of it stays, in memory or on disk."""
        self.registry.forget(tenant)
        if self.files is not None:
            self.files.remove(tenant)

    def _forget_old_hosts(self, now: int) -> None:
        limit = int(self.config.forget_after * 1e6)
        for tenant, record in self.registry.tenants.items():
            expected = self.inventory.expected(tenant)
            old = [name for name, host in record.hosts.items()
                   if now - max(host.last_seen, self.started) > limit and name not in expected]
            self.registry.forget_hosts(tenant, old)

    async def save(self) -> None:
        """Write what changed since the last save."""
        if self.files is None:
            return
        self._forget_old_hosts(now_us())
        documents = self.files.changed(self.registry)
        if not documents:
            return
        try:
            await asyncio.to_thread(self.files.write, documents)
        except OSError as e:
            self.registry.dirty.update(tenant for tenant, _ in documents)
            log.error("cannot save the fleet registry; will try again", extra={"error": str(e)})

    async def run(self) -> None:
        """Audit the collector's clock and save the registry every ``save_interval``, until
        cancelled (and save once more then)."""
        clock = asyncio.create_task(self.clock.run())
        try:
            while True:
                started = time.monotonic()
                await self.save()
                await asyncio.sleep(max(0.0, self.config.save_interval - (time.monotonic() - started)))
        finally:
            clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await clock
            await asyncio.shield(self.save())
