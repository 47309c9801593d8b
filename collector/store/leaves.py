"""The canonical bytes of each stored line (a record): the leaves of its block's Merkle tree
(docs/evidence.md, "Records"). Pure.

A record is one line of JSON, no whitespace, times as integer microseconds since the epoch
(UTC), keys in this order::

    {"agent", "host", "stream", "tz", "sent", "received", "read_time", "clock": {"offset",
     "bound", "synced", "reason", "status", "source"}, "seq", "ts", "ts_source", "ts_raw",
     "ts_flags", "line_flags", "fields", "msg"}

The same line gives the same bytes when it is sealed and whenever it is exported, so an
exported line can be proved against the root signed when it was sealed. The bytes of a line
already sealed must never change: a `ClockView` field added later appears only when it is
set, and tests pin the bytes of a known line.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from chronolog.wire import ClockView
from collector.store.lines import LineBlock, Origin

__all__ = ["RECORD_FORMAT", "record_bytes"]

RECORD_FORMAT = 1
# The clock fields of record format 1, always present; any later field only when set.
_CLOCK_V1 = ("offset", "bound", "synced", "reason", "status", "source")
_CLOCK_LATER = tuple(f.name for f in dataclasses.fields(ClockView) if f.name not in _CLOCK_V1)


def _origin_prefix(origin: Origin) -> bytes:
    """``{"agent":...,"clock":{...},`` : what every line of one chunk shares, serialised once."""
    clock = {f: getattr(origin.clock, f) for f in _CLOCK_V1}
    clock.update((f, v) for f in _CLOCK_LATER if (v := getattr(origin.clock, f)) is not None)
    shared = {"agent": origin.agent, "host": origin.host, "stream": origin.stream, "tz": origin.tz,
              "sent": origin.sent, "received": origin.received, "read_time": origin.read, "clock": clock}
    return orjson.dumps(shared)[:-1] + b","


def record_bytes(block: LineBlock) -> list[bytes]:
    """Every line of ``block`` as its canonical record bytes, in block order."""
    prefixes = [_origin_prefix(o) for o in block.origins]
    tf, lf, fields = block.ts_flags, block.line_flags, block.fields
    origin, seq, ts, src, raw, msg = block.origin, block.seq, block.ts, block.src, block.raw, block.msg
    empty: list[str] = []
    no_fields: dict[str, Any] = {}
    dumps = orjson.dumps
    return [
        prefixes[origin[i]] + dumps({
            "seq": seq[i], "ts": ts[i], "ts_source": src[i], "ts_raw": raw[i],
            "ts_flags": tf.get(i, empty), "line_flags": lf.get(i, empty),
            "fields": fields.get(i, no_fields), "msg": msg[i]})[1:]
        for i in range(len(ts))
    ]
