"""What both daemons do for systemd: readiness and watchdog notifications, and files the unit
hands over as credentials. Outside systemd (no ``$NOTIFY_SOCKET``, no
``$CREDENTIALS_DIRECTORY``) every function here is a no-op or returns its argument.

Credentials: a unit runs as an unprivileged user that cannot read root's 0600 secrets, so it
names them with ``LoadCredential=`` and systemd puts a copy, readable by the service only, in
``$CREDENTIALS_DIRECTORY``. ``LoadCredential=NAME:FILE`` makes ``$CREDENTIALS_DIRECTORY/NAME``;
``LoadCredential=DIR_NAME:DIR`` (a directory: our units hand over ``/etc/chronolog/collector``
and ``/etc/chronolog/agent``) makes ``$CREDENTIALS_DIRECTORY/DIR_NAME_FILE`` for each file in
it, and an empty directory is no error, so a missing secret is reported by chronolog, naming
the command that creates it, rather than by systemd as ``243/CREDENTIALS``.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

__all__ = ["ConfigFile", "handed_over", "notify", "watchdog", "watchdog_interval"]


def handed_over(path: Path) -> Path:
    """Where to read the file the configuration calls ``path``: systemd's copy when the unit
    handed it over, else ``path`` itself."""
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if directory:
        for name in (f"{path.parent.name}_{path.name}", path.name):
            candidate = Path(directory) / name
            if candidate.is_file():
                return candidate
    return path


def _readable_here_or_handed(path: Path) -> Path:
    if not handed_over(path).is_file():
        raise ValueError(f"no such file: {path}")
    return path


# A file named in the configuration that must exist, here or as a credential (read it
# through `handed_over`).
ConfigFile = Annotated[Path, AfterValidator(_readable_here_or_handed)]


def notify(*states: str) -> bool:
    """Send ``READY=1``, ``STATUS=...``, ``STOPPING=1``, ``WATCHDOG=1`` to systemd (sd_notify(3));
    False when not started by systemd with ``Type=notify``."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        try:
            s.sendto("\n".join(states).encode(), address)
        except OSError:
            return False
    return True


def watchdog_interval() -> float | None:
    """Half of ``WatchdogSec=`` in seconds, if systemd watches this process."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2e6


async def watchdog() -> None:
    """Tell systemd every half watchdog period that the event loop still turns (a loop stuck in
    a blocking call stops the pings, and systemd restarts the daemon). Runs until cancelled;
    returns at once when there is no watchdog."""
    interval = watchdog_interval()
    if interval is None:
        return
    while notify("WATCHDOG=1"):
        await asyncio.sleep(interval)
