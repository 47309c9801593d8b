"""The journald input: ``journalctl --follow --output=json`` as one stream, ``journald``.

The cursor of the last acknowledged entry is the stream's position, committed with the same
rule as file offsets. Journal fields other than the message and the ``__`` address fields are
kept as the record's structured fields; the event time is ``__REALTIME_TIMESTAMP``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import Field

from agent.delivery import Mark, Pending
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from agent.stamp import INVALID_ENCODING
from agent.telemetry import Telemetry
from chronolog.config_loading import StrictModel
from chronolog.timefmt import now_us
from chronolog.timestamps import EXPLICIT, READ_TIME
from chronolog.wire import Chunk, ClockView

__all__ = ["STREAM", "JournaldConfig", "JournaldInput", "journald_available"]

log = logging.getLogger("agent.journald")

STREAM = "journald"
MAX_ENTRIES = 1000  # per chunk
GATHER_SECONDS = 0.05  # wait this long for more entries before cutting a chunk
RESTART_SECONDS = 5.0


class JournaldConfig(StrictModel):
    enabled: Literal["auto"] | bool = Field(
        "auto", description="'auto' reads the journal when journald runs on this host."
    )
    journalctl: str = Field("journalctl", description="The journalctl program.")
    directory: Path | None = Field(
        None, description="Read the journal files in this directory instead of the system journal."
    )


def journald_available(config: JournaldConfig) -> bool:
    if config.enabled is not True and config.enabled is not False:
        has_journal = config.directory is not None or os.path.exists("/run/systemd/journal/socket")
        return has_journal and shutil.which(config.journalctl) is not None
    return bool(config.enabled)


def entry_to_row(entry: dict[str, Any]) -> tuple[str, int, str, dict[str, Any], list[str]]:
    """One journal entry as (message, event time in µs, raw time text, fields, line flags)."""
    flags: list[str] = []
    message = entry.get("MESSAGE")
    if isinstance(message, list):  # journald sends non-UTF-8 messages as byte arrays
        message = bytes(message).decode("utf-8", "backslashreplace")
        flags.append(INVALID_ENCODING)
    elif not isinstance(message, str):
        message = ""
    raw = str(entry.get("__REALTIME_TIMESTAMP", "0"))
    fields = {k: v for k, v in entry.items() if not k.startswith("__") and k != "MESSAGE"}
    return message, int(raw) if raw.isdigit() else 0, raw, fields, flags


class JournaldInput:
    def __init__(self, config: JournaldConfig, queue: BatchQueue, checkpoints: Checkpoints,
                 clock: Callable[[], ClockView], telemetry: Telemetry) -> None:
        self.config = config
        self.queue = queue
        self.checkpoints = checkpoints
        self.clock = clock
        self.telemetry = telemetry
        state = checkpoints.get(STREAM)
        self.next_seq = state.next_seq
        self.cursor: str | None = (state.position or {}).get("cursor")

    def _command(self) -> list[str]:
        cmd = [self.config.journalctl, "--follow", "--output=json", "--all", "--no-pager"]
        if self.config.directory is not None:
            cmd.append(f"--directory={self.config.directory}")
        if self.cursor:
            cmd.append(f"--after-cursor={self.cursor}")
        elif self.config.directory is None:
            cmd.append("--boot")
        return cmd

    async def run(self) -> None:
        while True:
            try:
                await self._follow()
            except OSError as e:
                self.telemetry.input_failed(STREAM, str(e))
            await asyncio.sleep(RESTART_SECONDS)

    async def _follow(self) -> None:
        proc = await asyncio.create_subprocess_exec(
            *self._command(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            limit=64 << 20,
        )
        assert proc.stdout is not None and proc.stderr is not None
        try:
            while entries := await self._gather(proc.stdout):
                await self._ship(entries)
            error = (await proc.stderr.read()).decode(errors="replace").strip()
            self.telemetry.input_failed(STREAM, f"journalctl exited {await proc.wait()}: {error}")
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()

    async def _gather(self, stdout: asyncio.StreamReader) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        line = await stdout.readline()
        while line:
            try:
                entries.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                log.warning("unreadable journalctl output skipped", extra={"bytes": len(line)})
            if len(entries) >= MAX_ENTRIES:
                break
            try:
                line = await asyncio.wait_for(stdout.readline(), GATHER_SECONDS)
            except TimeoutError:
                break
        return entries

    async def _ship(self, entries: list[dict[str, Any]]) -> None:
        read_us = now_us()
        msg: list[str] = []
        ts: list[int] = []
        raw: list[str | None] = []
        src: list[str] = []
        fields: list[tuple[int, dict[str, Any]]] = []
        line_flags: list[tuple[int, list[str]]] = []
        for i, entry in enumerate(entries):
            message, event_us, raw_time, entry_fields, flags = entry_to_row(entry)
            msg.append(message)
            ts.append(event_us or read_us)
            src.append(EXPLICIT if event_us else READ_TIME)
            raw.append(raw_time if event_us else None)
            if entry_fields:
                fields.append((i, entry_fields))
            if flags:
                line_flags.append((i, flags))
        chunk = Chunk(STREAM, self.next_seq, read_us, self.clock(), msg, ts, src,
                      raw, [], line_flags, fields)
        self.next_seq += len(entries)
        self.cursor = str(entries[-1].get("__CURSOR", self.cursor or ""))
        self.telemetry.lines_read(STREAM, len(entries))
        size = sum(len(m) for m in msg) + 512 * len(msg)
        await self.queue.put(Pending(chunk, Mark(STREAM, self.next_seq, {"cursor": self.cursor}), size))
