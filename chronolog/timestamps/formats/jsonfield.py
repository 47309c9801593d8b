"""JSON (and JSON-like) lines: the value of a time field.

The fields looked for are ``ts``, ``time``, ``timestamp``, ``@timestamp``, ``@t``, ``t``,
``date``, ``datetime``, ``eventTime``, ``event_time`` and ``time_local``, as zap, logrus, slog,
pino, bunyan, Docker, Elastic (ECS), Serilog (CLEF) and nginx JSON templates write them; also
MongoDB's ``"t": {"$date": ...}``. A number is an epoch count (see `epoch`); a string is read
with the formats that can stand alone in a value (ISO 8601, CLF, ctime, RFC 2822, RFC 3164,
slashed dates, epoch digits).

This format is preferred: when a line has such a field, its value is the event time even if
another field holding a date comes first. A time field is looked for in the first 8 KiB.
"""

from __future__ import annotations

import re

from chronolog.timestamps.event import EventTime
from chronolog.timestamps.formats.apache import CLF, CTIME
from chronolog.timestamps.formats.base import Format
from chronolog.timestamps.formats.epoch import DIGITS, EPOCH, epoch_event
from chronolog.timestamps.formats.iso import ISO_8601, ISO_8601_BASIC
from chronolog.timestamps.formats.rfc2822 import RFC_2822
from chronolog.timestamps.formats.slash import SLASH
from chronolog.timestamps.formats.syslog import RFC_3164
from chronolog.timestamps.resolve import Resolver

__all__ = ["JSON_FIELD"]

_KEYS = "ts|time|timestamp|@timestamp|@t|t|date|datetime|eventTime|event_time|time_local"
_PATTERN = re.compile(
    rf'"(?:{_KEYS})"\s*:\s*(?:\{{\s*"\$date"\s*:\s*)?(?:({DIGITS})(?![.eE])|"([^"\\]{{1,64}})")',
    re.ASCII,
)
_IN_STRINGS = (ISO_8601, CLF, RFC_2822, CTIME, RFC_3164, SLASH, ISO_8601_BASIC, EPOCH)


def _read(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    number, seconds, fraction, count, text = m.groups()
    if number is not None:
        return epoch_event(seconds, fraction, count, number)
    for fmt in _IN_STRINGS:
        inner = fmt.pattern.match(text)
        if inner is not None:
            event = fmt.read(inner, r, read_us)
            if event is not None:
                return event
    return None


JSON_FIELD = Format("json", _PATTERN, _read, preferred=True, window=8192)
