"""``chronolog-agent clock``: the full clock view, once (or every audit interval), and an exit
status a script or a health check can use: 0 within budget, 1 over it, 2 unknown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson

from agent.clock.monitor import ClockConfig, ClockMonitor
from agent.telemetry import Telemetry

__all__ = ["EXIT_STATUS", "check_once", "exit_status", "render", "watch"]

EXIT_STATUS = {"ok": 0, "warn": 0, "over_budget": 1, "unknown": 2}


def exit_status(report: dict[str, Any]) -> int:
    return EXIT_STATUS.get(report.get("status") or "unknown", 2)


async def check_once(config: ClockConfig) -> dict[str, Any]:
    """One burst per server and one read of the daemon and the kernel, then the report."""
    monitor = ClockMonitor(config, Telemetry())
    await asyncio.gather(monitor.audit(force=True), monitor.read_daemon())
    return monitor.report()


async def watch(config: ClockConfig, show: Callable[[dict[str, Any]], None]) -> None:
    """Audit on the configured schedule and show the report after each round, until stopped."""
    monitor = ClockMonitor(config, Telemetry())
    task = asyncio.create_task(monitor.run())
    try:
        while not task.done():
            await asyncio.sleep(min(config.interval, config.daemon.interval))
            show(monitor.report())
    finally:
        task.cancel()


def render(report: dict[str, Any], as_json: bool) -> str:
    if as_json:
        return orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    lines = []
    if report.get("bound") is None:
        lines.append(f"clock: unknown ({report.get('reason')})")
    else:
        lines.append(f"clock: {report['status']}: offset {report['offset']:+.6f} s, bound "
                     f"{report['bound']:.6f} s (budget {report['budget']:g} s, from the {report['source']})")
        if report.get("reason"):
            lines.append(f"  note: {report['reason']}")
    for s in report["servers"]:
        if "offset" in s:
            jitter = f", jitter {s['jitter']:.6f} s" if s.get("jitter") is not None else ""
            lines.append(f"  server {s['server']}: offset {s['offset']:+.6f} s, delay {s['delay']:.6f} s"
                         f"{jitter}, stratum {s['stratum']} ({s['refid']}), "
                         f"{s.get('good', 0)}/{s.get('requests', 0)} good")
        else:
            lines.append(f"  server {s['server']}: {s.get('error', 'not asked yet')}")
    daemon = report.get("daemon") or {}
    if "daemon" in daemon:
        offset = f"offset {daemon['offset']:+.6f} s" if daemon.get("offset") is not None else "no offset"
        lines.append(f"  daemon {daemon['daemon']}: synced {daemon['synced']}, {offset}, "
                     f"stratum {daemon.get('stratum')}, reference {daemon.get('reference')}")
    else:
        lines.append(f"  daemon: {daemon.get('error', 'not read')}")
    kernel = report.get("kernel") or {}
    if "state" in kernel:
        lines.append(f"  kernel: {kernel['state']}, maxerror {kernel['maxerror']:.6f} s, "
                     f"status {','.join(kernel['status']) or '-'}")
    return "\n".join(lines)
