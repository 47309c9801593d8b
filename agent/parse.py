"""``chronolog-agent parse``: what the agent makes of lines' timestamps, for testing a source
before shipping it and for operators asking "why this time?".

Each input line becomes one JSON object on its own line: ``ts`` (RFC 3339 in the output
zone), ``ts_source``, ``ts_flags``, ``ts_raw``, ``ts_format`` (the format family that matched,
or ``declared``), ``read_time``, ``line_flags`` and ``msg``, the line as the agent would ship it.
Lines are decoded as the file input does (bad bytes kept as ``\\xff``, flagged
``invalid_encoding``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

import orjson

from agent.stamp import INVALID_ENCODING
from chronolog.timefmt import get_zone, to_rfc3339
from chronolog.timestamps import Normalizer

__all__ = ["explain", "parse_lines"]


def explain(normalizer: Normalizer, line: bytes, read_us: int, zone: str) -> dict[str, Any]:
    """One line's record: its event time and how it was obtained, rendered in ``zone``."""
    flags = []
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("utf-8", "backslashreplace")
        flags.append(INVALID_ENCODING)
    event = normalizer.normalize(text, read_us)
    tz = get_zone(zone)
    return {
        "ts": to_rfc3339(event.ts, tz),
        "ts_source": event.source,
        "ts_flags": list(event.flags),
        "ts_raw": event.raw,
        "ts_format": normalizer.last_format,
        "read_time": to_rfc3339(read_us, tz),
        "line_flags": flags,
        "msg": text,
    }


def parse_lines(lines: Iterable[bytes], out: BinaryIO, normalizer: Normalizer, zone: str,
                read_time: Callable[[], int]) -> int:
    """Write one JSON record per line of ``lines`` to ``out`` (flushed per line, so it can
    follow ``tail -f``); the number of lines."""
    n = 0
    for line in lines:
        record = explain(normalizer, line.rstrip(b"\r\n"), read_time(), zone)
        out.write(orjson.dumps(record) + b"\n")
        out.flush()
        n += 1
    return n
