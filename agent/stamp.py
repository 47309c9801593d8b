"""Stamping: raw lines of one stream become a wire chunk, in columns.

Each line is decoded, gets its event time with provenance (`chronolog.timestamps`) and the
next sequence number of its stream. A line that is not valid in the source's encoding is kept
with the bad bytes escaped (``\\xff``) and flagged ``invalid_encoding``; nothing is dropped.
A written time after the read time plus the source's future tolerance is kept as written,
flagged ``future`` and counted (`Stamper.future`): a writer's clock ahead, or a wrong layout.

A block of lines as the file holds them (`ReadBlock`: nothing cut, nothing to escape) is
stamped whole: one decode, event times read over the decoded text
(`chronolog.timestamps.lines`), and the bytes shipped as they were read, without an object
per line. Anything else (lines cut, joined, or with bad bytes) is decoded line by line.
"""

from __future__ import annotations

import codecs
from array import array
from collections.abc import Collection

from agent.inputs.tail import ReadBlock
from chronolog.timestamps import DEFAULT_FUTURE_TOLERANCE, Normalizer
from chronolog.timestamps.lines import Readings, read_lines, read_text
from chronolog.wire import ClockView, ColumnChunk

__all__ = ["FUTURE", "INVALID_ENCODING", "TRUNCATED", "Stamper"]

INVALID_ENCODING = "invalid_encoding"
TRUNCATED = "truncated"
FUTURE = "future"


class Stamper:
    """Stamps the lines of one stream. ``future_tolerance`` and ``format`` are the source's
    timestamp options and ``learned`` the layouts learned for it before (see
    `chronolog.timestamps.Normalizer`)."""

    def __init__(self, stream: str, source_zone: str, encoding: str, next_seq: int,
                 future_tolerance: float = DEFAULT_FUTURE_TOLERANCE, format: str | None = None,
                 learned: list[str] | None = None) -> None:
        self.stream = stream
        self.encoding = encoding
        # The file's bytes are the wire's (UTF-8) once they decode: no need to encode them again.
        self._utf8 = codecs.lookup(encoding).name in ("utf-8", "ascii")
        self.next_seq = next_seq
        self._tolerance_us = round(future_tolerance * 1_000_000)
        self._normalizer = Normalizer(source_zone, future_tolerance, format, learned)
        self.future = 0  # lines of the last chunk flagged FUTURE
        self.sources: dict[str, int] = {}  # lines of the last chunk by ts_source

    def learned_layouts(self) -> list[str]:
        """The layouts learned for this stream so far: saved with its position."""
        return self._normalizer.learned_layouts()

    def stamp(self, lines: list[bytes] | ReadBlock, read_us: int, clock: ClockView,
              truncated: Collection[int] = ()) -> ColumnChunk:
        chunk = None
        if isinstance(lines, ReadBlock) and not truncated:
            chunk = self._stamp_block(lines, read_us, clock)
        if chunk is None:
            chunk = self._stamp_lines(list(lines), read_us, clock, truncated)
        self._flag_future(chunk, read_us + self._tolerance_us)
        self.next_seq += chunk.count
        return chunk

    def _stamp_block(self, block: ReadBlock, read_us: int, clock: ClockView) -> ColumnChunk | None:
        """The whole block at once; None if it does not decode (a bad byte somewhere)."""
        try:
            text = block.data.decode(self.encoding)
        except UnicodeDecodeError:
            return None
        if not self._utf8 and text.count("\n") + 1 != len(block):
            # (UTF-8 has a newline only where the bytes have one.) An encoding whose newline
            # is not the text's (none known): line by line.
            return None
        readings = read_text(self._normalizer, text, read_us)
        data = block.data if self._utf8 else text.encode("utf-8")
        return self._chunk(readings, data, len(readings.ts), read_us, clock, [])

    def _stamp_lines(self, lines: list[bytes], read_us: int, clock: ClockView,
                     truncated: Collection[int]) -> ColumnChunk:
        texts: list[str] = []
        line_flags: list[tuple[int, list[str]]] = []
        for i, line in enumerate(lines):
            flags = [TRUNCATED] if i in truncated else []
            try:
                text = line.decode(self.encoding)
            except UnicodeDecodeError:
                text = line.decode(self.encoding, "backslashreplace")
                flags.append(INVALID_ENCODING)
            texts.append(text)
            if flags:
                line_flags.append((i, flags))
        readings = read_lines(self._normalizer, texts, read_us)
        chunk = self._chunk(readings, "\n".join(texts).encode("utf-8"), len(texts), read_us, clock,
                            line_flags)
        if any("\n" in t for t in texts):  # multiline records: say where each one ends
            chunk.lengths = array("I", (len(t.encode("utf-8")) for t in texts))
        return chunk

    def _chunk(self, readings: Readings, data: bytes, count: int, read_us: int, clock: ClockView,
               line_flags: list[tuple[int, list[str]]]) -> ColumnChunk:
        self.sources = readings.sources()
        return ColumnChunk(self.stream, self.next_seq, read_us, clock, count, data, readings.ts,
                           readings.kinds, [(i, list(f)) for i, f in readings.flags], line_flags,
                           raw_texts=readings.raw_texts)

    def _flag_future(self, chunk: ColumnChunk, limit: int) -> None:
        """Flag the lines written for a time after ``limit``, and count them."""
        self.future = 0
        if not chunk.count or max(chunk.ts) <= limit:
            return
        flags = dict(chunk.ts_flags)
        for i, t in enumerate(chunk.ts):
            if t > limit:
                flags[i] = [*flags.get(i, []), FUTURE]
                self.future += 1
        chunk.ts_flags = sorted(flags.items())
