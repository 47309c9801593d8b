"""The file input: globs of log files, each file one stream (``file:<path>``).

This module wires `agent.inputs.tail.FileTail` to configuration, stamping and delivery;
the tailing itself lives in ``tail.py``.
"""

from __future__ import annotations

import asyncio
import codecs
import fnmatch
import glob
import os
import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from agent.delivery import Mark, Pending
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from agent.inputs.tail import FilePosition, FileTail, Multiline
from agent.stamp import Stamper
from agent.telemetry import Telemetry
from chronolog.config_loading import StrictModel
from chronolog.timefmt import now_us, resolve_zone
from chronolog.timestamps import (
    DEFAULT_FUTURE_TOLERANCE,
    MAX_FUTURE_TOLERANCE,
    FormatError,
    compile_format,
    unreadable_examples,
)
from chronolog.wire import ClockView

__all__ = ["FileInput", "FileSource"]

READ_BYTES = 256 << 10  # per file per turn, so one busy file cannot starve the others


class FileSource(StrictModel):
    """One group of files read the same way."""

    include: list[str] = Field(
        min_length=1, description="Absolute glob patterns of files to read, e.g. /var/log/*.log."
    )
    exclude: list[str] = Field([], description="Glob patterns of paths to leave out.")
    zone: Annotated[str, AfterValidator(resolve_zone)] = Field(
        "local", validate_default=True,
        description="IANA zone of timestamps written without an offset; 'local' is this host's zone.",
    )
    encoding: str = Field("utf-8", description="Character encoding of the files (Python codec name).")
    max_line_bytes: int = Field(
        1 << 20, ge=256, le=64 << 20,
        description="Longer lines are cut to this size, flagged 'truncated' and counted.",
    )
    multiline_start: str = Field(
        "", description="Regular expression a record's first line matches; the lines up to the "
        "next match are joined to it (e.g. a Java stack trace). Empty: one record per line.",
    )
    multiline_timeout: float = Field(
        1.0, gt=0, le=3600,
        description="Seconds to wait for a held record's next line before shipping it as it is.",
    )
    # Timestamps (docs/timestamps.md). Validated in this order: format_examples uses the others.
    format: str | None = Field(
        None, description="strftime-style layout of the timestamps, e.g. '%d/%b/%Y:%H:%M:%S %z'; "
        "unset: detected per file. Needs format_examples.",
    )
    future_tolerance: float = Field(
        DEFAULT_FUTURE_TOLERANCE, ge=0, le=MAX_FUTURE_TOLERANCE,
        description="Seconds after the read time an inferred year may put an event (a clock ahead).",
    )
    format_examples: list[str] = Field(
        [], validate_default=True,
        description="Sample lines checked when the config loads: each must yield a timestamp, "
        "with format if set (then at least one is required), else by detection.",
    )

    @field_validator("include", "exclude")
    @classmethod
    def _absolute(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if not pattern.startswith("/"):
                raise ValueError(f"expected an absolute path pattern, got {pattern!r}")
        return patterns

    @field_validator("format")
    @classmethod
    def _format_compiles(cls, fmt: str | None) -> str | None:
        if fmt is not None:
            try:
                compile_format(fmt)
            except FormatError as e:
                raise ValueError(str(e)) from None
        return fmt

    @field_validator("format_examples")
    @classmethod
    def _examples_have_timestamps(cls, examples: list[str], info: ValidationInfo) -> list[str]:
        if not {"zone", "format", "future_tolerance"} <= info.data.keys():
            return examples  # one of them is wrong, and that is reported on its own
        fmt = info.data["format"]
        if fmt is not None and not examples:
            raise ValueError("a declared format needs at least one sample line here, to check it "
                             "against when the configuration loads")
        problems = unreadable_examples(examples, info.data["zone"], info.data["future_tolerance"], fmt)
        if problems:
            raise ValueError("; ".join(problems))
        return examples

    @field_validator("encoding")
    @classmethod
    def _known_codec(cls, name: str) -> str:
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            raise ValueError(f"expected a known character encoding such as utf-8, got {name!r}") from None
        if codec in ("utf-16", "utf-32"):
            raise ValueError(f"{name!r} does not say its byte order; expected {codec}-le or {codec}-be")
        return name

    @field_validator("multiline_start")
    @classmethod
    def _valid_pattern(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as e:
            raise ValueError(f"expected a regular expression: {e}") from None
        return pattern

    def newline(self) -> bytes:
        """The line separator in this encoding (b"\\n" for UTF-8, Shift_JIS, EUC-JP, Latin-1...)."""
        return "\n".encode(self.encoding)

    def multiline(self) -> Multiline | None:
        if not self.multiline_start:
            return None
        return Multiline(re.compile(self.multiline_start.encode(self.encoding)), self.multiline_timeout)


class _Followed:
    def __init__(self, tail: FileTail, stamper: Stamper) -> None:
        self.tail = tail
        self.stamper = stamper
        self.recovering = False  # reading a file that was rotated while the agent was stopped


class FileInput:
    """Discovers the files of one `FileSource` and ships their new lines."""

    def __init__(self, source: FileSource, queue: BatchQueue, checkpoints: Checkpoints,
                 clock: Callable[[], ClockView], telemetry: Telemetry, claimed: set[str],
                 poll_interval: float = 0.25, discover_interval: float = 2.0) -> None:
        self.source = source
        self.queue = queue
        self.checkpoints = checkpoints
        self.clock = clock
        self.telemetry = telemetry
        self.claimed = claimed  # paths already followed by any FileInput
        self.poll_interval = poll_interval
        self.discover_interval = discover_interval
        self._followed: dict[str, _Followed] = {}
        self._unreadable: set[str] = set()

    def _paths(self) -> list[str]:
        found: set[str] = set()
        for pattern in self.source.include:
            found.update(glob.glob(pattern))
        return sorted(
            p for p in found
            if os.path.isfile(p) and not any(fnmatch.fnmatch(p, x) for x in self.source.exclude)
        )

    def discover(self) -> None:
        for path in self._paths():
            if path in self.claimed or path in self._unreadable:
                continue
            if not os.access(path, os.R_OK):
                self._unreadable.add(path)
                self.telemetry.file_unreadable(path, "permission denied")
                continue
            stream = f"file:{path}"
            state = self.checkpoints.get(stream)
            resume = FilePosition.from_json(state.position)
            tail = FileTail(path, resume, self.source.max_line_bytes, self.source.newline(),
                            self.source.multiline())
            # Resuming the same file repeats the numbers from the last ack (the collector drops
            # the repeats); any other file starts past every number ever sent for this stream.
            stamper = Stamper(stream, self.source.zone, self.source.encoding, state.next_seq,
                              self.source.future_tolerance, self.source.format, state.ts_layouts)
            self._followed[path] = _Followed(tail, stamper)
            self.claimed.add(path)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_discovery = 0.0
        try:
            while True:
                if loop.time() >= next_discovery:
                    self.discover()
                    next_discovery = loop.time() + self.discover_interval
                if not await self.poll_once():
                    await asyncio.sleep(self.poll_interval)
        finally:
            for followed in self._followed.values():
                followed.tail.close()

    def _renumber(self, followed: _Followed, events: list[str]) -> None:
        """Keep sequence numbers unique when a resume is not exact.

        A file that is not the one the checkpoint points into is numbered past everything
        sent before (``high_seq``); so is a file opened afresh, unless nothing was committed yet
        and it is the file lines were sent from. After a file rotated while the agent was stopped is
        finished (its lines get their old numbers again), the file at the path continues the
        numbering only if it is the one lines were last sent from; otherwise those numbers
        belonged to lines of a file no longer there, and must not be given to others.
        """
        state = self.checkpoints.get(followed.stamper.stream)
        jump = "opened" in events
        sent_from = FilePosition.from_json(state.high_position)
        if jump and state.position is None and followed.tail.holds(sent_from):
            # Stopped before the first acknowledgement: nothing committed, so the file is read
            # again from its start, and it is the one lines were sent from: same numbers.
            jump = False
        if any(e.startswith("resumed from rotated") for e in events):
            followed.recovering = True
        elif followed.recovering and "rotated" in events:
            followed.recovering = False
            jump = not followed.tail.holds(FilePosition.from_json(state.high_position))
        if jump:
            followed.stamper.next_seq = max(followed.stamper.next_seq, state.high_seq)

    async def poll_once(self) -> bool:
        """One read turn over every followed file; True if any line was read."""
        progressed = False
        now = asyncio.get_running_loop().time()
        for path, followed in list(self._followed.items()):
            try:
                read = followed.tail.poll(READ_BYTES, now)
            except OSError as e:
                self.telemetry.file_unreadable(path, str(e))
                followed.tail.close()
                del self._followed[path]
                self.claimed.discard(path)
                continue
            if read is None:
                continue
            stream = followed.stamper.stream
            self._renumber(followed, read.events)
            for event in read.events:
                self.telemetry.file_event(path, event)
            if not read.lines:
                continue
            progressed = True
            chunk = followed.stamper.stamp(read.lines, now_us(), self.clock(), read.truncated)
            self.telemetry.lines_read(stream, len(chunk), len(read.truncated))
            self.telemetry.event_times(stream, followed.stamper.sources, followed.stamper.future)
            layouts = followed.stamper.learned_layouts()
            mark = Mark(stream, followed.stamper.next_seq, read.position.to_json(),
                        tuple(layouts) if layouts else None)
            await self.queue.put(Pending(chunk, mark, chunk.nbytes))
        return progressed
