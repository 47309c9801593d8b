"""Which time daemon runs here, and what it says: the readers in `agent.clock.readers` tried
in turn (or the one configured), the one that answered remembered and tried first next time.

Every read is local and cheap (a UDP packet to loopback, or one short subprocess), so the
daemon is read far more often than the NTP servers are audited.
"""

from __future__ import annotations

import os
import shutil
from typing import Literal

from pydantic import Field, field_validator

from agent.clock.readers import DaemonView, ReaderError
from agent.clock.readers.chrony import read_chronyc, read_cmdmon
from agent.clock.readers.ntpd import read_mode6
from agent.clock.readers.timesyncd import read_busctl
from chronolog.clock.servers import parse_server
from chronolog.config_loading import StrictModel

__all__ = ["DAEMONS", "DaemonConfig", "DaemonReader"]

DAEMONS = ("chrony", "timesyncd", "ntpd")


class DaemonConfig(StrictModel):
    read: Literal["auto", "chrony", "timesyncd", "ntpd", "none"] = Field(
        "auto", description="Which time daemon to read; 'auto' tries chrony, timesyncd, then ntpd."
    )
    interval: float = Field(16.0, ge=1.0, le=3600.0, description="Seconds between reads of the daemon.")
    timeout: float = Field(1.0, gt=0, le=30, description="Seconds to wait for the daemon to answer.")
    chrony_address: str = Field(
        "127.0.0.1:323", description="chronyd's command port (HOST:PORT); unprivileged over UDP."
    )
    chrony_socket: str = Field(
        "/run/chrony/chronyd.sock",
        description="chronyd's Unix socket, asked through chronyc when the command port is closed.",
    )
    chronyc: str = Field("chronyc", description="The chronyc program.")
    ntpd_address: str = Field("127.0.0.1:123", description="ntpd's mode 6 control address (HOST:PORT).")
    busctl: str = Field("busctl", description="The busctl program (reads timesyncd over D-Bus).")

    @field_validator("chrony_address", "ntpd_address")
    @classmethod
    def _address(cls, value: str) -> str:
        parse_server(value)
        return value


class DaemonReader:
    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        self._last: str | None = None

    async def read(self) -> DaemonView:
        """The daemon's view; `ReaderError` naming every daemon tried and why it failed."""
        if self.config.read == "none":
            raise ReaderError("reading the time daemon is switched off (clock.daemon.read = none)")
        if self.config.read != "auto":
            return await self._read(self.config.read)
        order = sorted(DAEMONS, key=lambda d: d != self._last)
        failures = []
        for daemon in order:
            try:
                view = await self._read(daemon)
            except ReaderError as e:
                failures.append(f"{daemon}: {e}")
                continue
            self._last = daemon
            return view
        raise ReaderError("no time daemon readable (" + "; ".join(failures) + ")")

    async def _read(self, daemon: str) -> DaemonView:
        c = self.config
        if daemon == "chrony":
            host, port = parse_server(c.chrony_address)
            try:
                return await read_cmdmon(host, port, c.timeout)
            except ReaderError as e:
                if shutil.which(c.chronyc) is None or not os.path.exists(c.chrony_socket):
                    raise
                try:
                    return await read_chronyc(c.chronyc, c.chrony_socket, c.timeout)
                except ReaderError as e2:
                    raise ReaderError(f"{e}; {e2}") from None
        if daemon == "timesyncd":
            if shutil.which(c.busctl) is None:
                raise ReaderError(f"{c.busctl} not found")
            return await read_busctl(c.busctl, c.timeout)
        host, port = parse_server(c.ntpd_address)
        return await read_mode6(host, port, c.timeout)
