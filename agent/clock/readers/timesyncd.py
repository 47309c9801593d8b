"""systemd-timesyncd's own view, from its D-Bus properties (read through ``busctl --json``,
which any user may do on the system bus).

``NTPMessage`` is the last reply timesyncd took: leap, stratum, root delay and dispersion
(us), the reference, and the four timestamps of the exchange (realtime us), from which the
offset it measured follows. timesyncd then corrects the clock by that offset (a step, or a
slew through the kernel PLL), so by the time we read it the error lies anywhere between the
measured offset and none of it: the view says so (``partial_correction``).

It is synchronised if that reply was usable (leap not 3, stratum 1-15, not ignored) and recent:
no older than four poll intervals. That is a freshness check in minutes; timesyncd's own
"synchronized" flag comes from the kernel's maxerror and lasts about 8.9 hours after the last
good reply.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from agent.clock.readers import LEAP_NAMES, DaemonView, ReaderError

__all__ = ["PROPERTIES", "read_busctl", "view_from"]

SERVICE = "org.freedesktop.timesync1"
OBJECT = "/org/freedesktop/timesync1"
INTERFACE = "org.freedesktop.timesync1.Manager"
PROPERTIES = ("NTPMessage", "ServerName", "PollIntervalUSec")
STALE_POLLS = 4


def _reference(raw: list[int], stratum: int) -> str:
    data = bytes(raw[:4])
    if stratum <= 1 and data.rstrip(b"\0") and all(0x20 < b < 0x7F for b in data.rstrip(b"\0")):
        return data.rstrip(b"\0").decode("ascii")
    if stratum <= 1:
        return data.hex().upper()
    return ".".join(str(b) for b in data)


def view_from(message: list[Any], server: str, poll_usec: int, now: float) -> DaemonView:
    """``NTPMessage`` ``(uuuuittayttttbtt)`` and friends as the normalised view (pure)."""
    try:
        (leap, _version, _mode, stratum, _precision, root_delay, root_dispersion, reference,
         t1, t2, t3, t4, ignored, packets, jitter) = message
    except ValueError:
        raise ReaderError(f"timesyncd's NTPMessage has an unexpected shape: {message!r}") from None
    if not packets or not t4:
        return DaemonView(daemon="timesyncd", synced=False, reference=server or None,
                          details={"reason": "no reply from any server yet"})
    server_minus_local = ((t2 - t1) + (t3 - t4)) / 2 / 1e6
    age = max(0.0, now - t4 / 1e6)
    poll = poll_usec / 1e6
    fresh = age <= STALE_POLLS * max(poll, 16.0)
    synced = leap != 3 and 0 < stratum < 16 and not ignored and fresh
    refid = _reference(reference, stratum)
    return DaemonView(
        daemon="timesyncd",
        synced=synced,
        stratum=stratum,
        reference=f"{server} ({refid})" if server else refid,
        leap=LEAP_NAMES[leap] if 0 <= leap < 4 else None,
        offset=-server_minus_local,
        root_delay=root_delay / 1e6,
        root_dispersion=root_dispersion / 1e6,
        age=age,
        partial_correction=True,
        details={"delay": ((t4 - t1) - (t3 - t2)) / 1e6, "jitter": jitter / 1e6,
                 "poll_interval": poll, "packets": packets, "ignored": bool(ignored),
                 **({} if fresh else {"reason": f"last reply {age:.0f} s ago"})},
    )


async def read_busctl(busctl: str, timeout: float) -> DaemonView:
    """Read timesyncd's properties from the system bus."""
    argv = [busctl, "--json=short", "get-property", SERVICE, OBJECT, INTERFACE, *PROPERTIES]
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except OSError as e:
        raise ReaderError(f"cannot run {busctl}: {e.strerror or e}") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ReaderError(f"{busctl} did not answer in {timeout} s") from None
    if proc.returncode != 0:
        detail = err.decode(errors="replace").strip().splitlines()
        raise ReaderError(f"timesyncd over D-Bus: {detail[-1] if detail else f'exit {proc.returncode}'}")
    try:
        message, server, poll = (orjson.loads(line)["data"] for line in out.splitlines() if line.strip())
    except (ValueError, KeyError, TypeError) as e:
        raise ReaderError(f"cannot read busctl's output ({e})") from None
    return view_from(message, str(server), int(poll), time.time())
