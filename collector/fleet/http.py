"""``GET /v1/hosts``: the fleet of the caller's tenant, for investigators (docs/wire.md).

One parameter, ``zone`` (IANA name the times are shown in). Ages (``quiet``, ``lag``) are
computed here, by the collector's clock, so a client with a wrong clock still reads them
right. Audited like every read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from chronolog.timefmt import BadTime, now_us, rfc3339_renderer, valid_zone
from collector.admin.audit import AUDIT
from collector.fleet.registry import Claim, HostRecord
from collector.fleet.selfclock import SelfView
from collector.fleet.service import Fleet
from collector.fleet.state import HostView, summarize
from collector.http import ApiError, json_response, require

__all__ = ["FLEET", "FleetCrossCheck", "add_fleet_routes", "hosts_document"]

FLEET = web.AppKey("fleet", Fleet)
ZONE = web.AppKey("fleet_zone", str)


Render = Callable[[int], str]  # an instant (µs) as RFC 3339 in the answer's zone


def _time(us: int | None, render: Render) -> str | None:
    return None if us is None else render(us)


def _epoch(seconds: float | None, render: Render) -> str | None:
    return None if seconds is None else render(int(seconds * 1e6))


def _claim(claim: Claim | None, status: str, zone: Render) -> dict[str, Any]:
    if claim is None:
        return {"status": status, "reason": "no clock view received"}
    return {"status": status, "offset": claim.offset, "bound": claim.bound, "synced": claim.synced,
            "source": claim.source, "reason": claim.reason, "daemon": claim.daemon,
            "last_good_audit": _epoch(claim.last_good_audit, zone), "read": _time(claim.read, zone)}


def _crosscheck(view: HostView, zone: Render) -> dict[str, Any]:
    check = view.record.crosscheck if view.record is not None else None
    doc: dict[str, Any] = {"status": view.crosscheck_state}
    if view.crosscheck is not None:
        lo, hi = view.crosscheck
        doc.update(min=lo, max=hi, offset=None if hi is None else (lo + hi) / 2)
    if check is not None:
        doc["collector"] = {"min": check.lo, "max": check.hi}  # host clock - collector clock
        doc.update(exchanges=check.exchanges, since=_time(check.since, zone))
    return doc


class FleetCrossCheck:
    """The fleet's cross-check of each host clock as an evidence export carries it
    (`collector.evidence.clock.CrossCheck`): as it stands now, times in UTC."""

    def __init__(self, fleet: Fleet, loop: asyncio.AbstractEventLoop) -> None:
        self.fleet = fleet
        self.loop = loop

    def cross_check(self, tenant: str, hosts: Iterable[str]) -> dict[str, Any]:
        # An export runs in a worker thread; the registry is only ever touched in the loop.
        return asyncio.run_coroutine_threadsafe(self._now(tenant, frozenset(hosts)), self.loop).result()

    async def _now(self, tenant: str, hosts: frozenset[str]) -> dict[str, Any]:
        now = now_us()
        render = rfc3339_renderer("UTC")
        views = [v for v in self.fleet.views(tenant, now) if v.name in hosts]
        return {"available": True, "at": now, "hosts": {v.name: _crosscheck(v, render) for v in views}}


def _streams(record: HostRecord | None, zone: Render) -> list[dict[str, Any]]:
    if record is None:
        return []
    return [{"stream": name, "agent": s.agent, "last_received": _time(s.last_received, zone),
             "last_read": _time(s.last_read, zone), "last_event": _time(s.last_event, zone),
             "lag": s.lag, "lines": s.lines}
            for name, s in sorted(record.streams.items())]


def host_document(view: HostView, now: int, zone: Render) -> dict[str, Any]:
    record = view.record
    return {
        "host": view.name, "state": view.state, "expected": view.expected, "quiet": round(view.quiet, 3),
        "first_seen": _time(record.first_seen if record else None, zone),
        "last_seen": _time(record.last_seen if record else None, zone),
        "since_seen": round((now - record.last_seen) / 1e6, 3) if record else None,
        "agents": sorted(record.agents) if record else [],
        "lag": record.lag if record else None,
        "clock": _claim(record.claim if record else None, view.clock, zone),
        "crosscheck": _crosscheck(view, zone),
        "disagreement": view.disagreement,
        "gaps": {"ranges": view.gaps.ranges, "lines": view.gaps.lines},
        "problems": view.problems,
        "streams": _streams(record, zone),
    }


def _collector_clock(view: SelfView) -> dict[str, Any]:
    return {"status": view.status, "offset": view.offset, "bound": view.bound, "reason": view.reason,
            "servers": list(view.servers), "audit_age": view.audit_age}


def hosts_document(fleet: Fleet, tenant: str, zone: str) -> dict[str, Any]:
    """The answer of ``GET /v1/hosts`` (pure apart from reading the clock)."""
    now = now_us()
    views = fleet.views(tenant, now)
    config = fleet.config
    render = rfc3339_renderer(zone)
    return {
        "tenant_id": fleet.tenant_id(tenant),
        "now": render(now),
        "zone": zone,
        "settings": {"silent_after": config.silent_after, "missing_after": config.missing_after,
                     "budget": config.clock.budget},
        "collector": {"clock": _collector_clock(fleet.clock.view())},
        "summary": summarize(views),
        "hosts": [host_document(v, now, render) for v in views],
    }


async def handle_hosts(request: web.Request) -> web.Response:
    principal = require(request, "investigator")
    audit = request.app[AUDIT]
    unknown = sorted(set(request.query) - {"zone"})
    try:
        if unknown:
            raise ApiError(400, "bad_query", f"unknown parameter {unknown[0]!r}; expected zone")
        if len(request.query.getall("zone", [])) > 1:
            raise ApiError(400, "bad_query", "'zone' given more than once")
        zone = valid_zone(request.query.get("zone", request.app[ZONE]))
    except (ApiError, BadTime) as e:
        error = e if isinstance(e, ApiError) else ApiError(400, "bad_query", str(e))
        await audit.record(principal, "hosts", principal.tenant, "refused",
                           {"status": error.status, "reason": error.detail})
        raise error from None
    document = hosts_document(request.app[FLEET], principal.tenant, zone)
    await audit.record(principal, "hosts", principal.tenant, "done", {"hosts": len(document["hosts"])})
    return json_response(document)


def add_fleet_routes(app: web.Application, fleet: Fleet, zone: str) -> None:
    app[FLEET] = fleet
    app[ZONE] = zone
    app.router.add_get("/v1/hosts", handle_hosts)
