"""Stamping: raw lines of one stream become a wire chunk.

Each line is decoded, gets its event time with provenance (`chronolog.timestamps`) and the
next sequence number of its stream. A line that is not valid in the source's encoding is kept
with the bad bytes escaped (``\\xff``) and flagged ``invalid_encoding``; nothing is dropped.
A written time after the read time plus the source's future tolerance is kept as written,
flagged ``future`` and counted (`Stamper.future`): a writer's clock ahead, or a wrong layout.
"""

from __future__ import annotations

from collections.abc import Collection

from chronolog.timestamps import DEFAULT_FUTURE_TOLERANCE, Normalizer
from chronolog.wire import Chunk, ClockView

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
        self.next_seq = next_seq
        self._tolerance_us = round(future_tolerance * 1_000_000)
        self._normalizer = Normalizer(source_zone, future_tolerance, format, learned)
        self.future = 0  # lines of the last chunk flagged FUTURE

    def learned_layouts(self) -> list[str]:
        """The layouts learned for this stream so far: saved with its position."""
        return self._normalizer.learned_layouts()

    def stamp(self, lines: list[bytes], read_us: int, clock: ClockView,
              truncated: Collection[int] = ()) -> Chunk:
        msg: list[str] = []
        ts: list[int] = []
        src: list[str] = []
        raw: list[str | None] = []
        ts_flags: list[tuple[int, list[str]]] = []
        line_flags: list[tuple[int, list[str]]] = []
        normalize = self._normalizer.normalize
        limit = read_us + self._tolerance_us
        future = 0
        for i, line in enumerate(lines):
            flags = [TRUNCATED] if i in truncated else []
            try:
                text = line.decode(self.encoding)
            except UnicodeDecodeError:
                text = line.decode(self.encoding, "backslashreplace")
                flags.append(INVALID_ENCODING)
            event_ts, event_source, event_raw, event_flags = normalize(text, read_us)
            msg.append(text)
            ts.append(event_ts)
            src.append(event_source)
            raw.append(event_raw)
            if event_ts > limit:
                future += 1
                event_flags = (*event_flags, FUTURE)
            if event_flags:
                ts_flags.append((i, list(event_flags)))
            if flags:
                line_flags.append((i, flags))
        chunk = Chunk(self.stream, self.next_seq, read_us, clock, msg, ts, src, raw,
                      ts_flags, line_flags)
        self.next_seq += len(lines)
        self.future = future
        return chunk
