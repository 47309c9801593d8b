"""``chronolog-agent parse``: what the agent makes of lines' timestamps, for testing a source
before shipping it and for operators asking "why this time?".

Each input line becomes one JSON object on its own line: ``ts`` (RFC 3339 in the output
zone), ``ts_source``, ``ts_flags``, ``ts_raw``, ``ts_format`` (the format family that matched,
``learned`` or ``declared``), ``read_time``, ``line_flags`` and ``msg``, the line as the agent
would ship it. Lines are decoded as the file input does (bad bytes kept as ``\\xff``, flagged
``invalid_encoding``). All lines are one source, as a file's lines are.

With ``explain``, each record also has ``explain``: the ``layout`` used (strftime-style, for a
learned or declared format), ``why`` it won, the learner's ``candidates`` still standing and
the ones it ``rejected`` so far, each with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

import orjson

from agent.stamp import INVALID_ENCODING
from chronolog.timefmt import get_zone, to_rfc3339
from chronolog.timestamps import Normalizer
from chronolog.timestamps.formats import Format

__all__ = ["explain", "parse_lines"]


def explain(normalizer: Normalizer, line: bytes, read_us: int, zone: str,
            why: bool = False) -> dict[str, Any]:
    """One line's record: its event time and how it was obtained, rendered in ``zone``; with
    ``why``, the reasons (`explain` in the module's description)."""
    flags = []
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("utf-8", "backslashreplace")
        flags.append(INVALID_ENCODING)
    kept = normalizer.cached
    event = normalizer.normalize(text, read_us)
    tz = get_zone(zone)
    record: dict[str, Any] = {
        "ts": to_rfc3339(event.ts, tz),
        "ts_source": event.source,
        "ts_flags": list(event.flags),
        "ts_raw": event.raw,
        "ts_format": normalizer.last_format,
        "read_time": to_rfc3339(read_us, tz),
        "line_flags": flags,
        "msg": text,
    }
    if why:
        record["explain"] = _why(normalizer, kept, event.flags)
    return record


def _why(normalizer: Normalizer, kept: Format | None, flags: tuple[str, ...]) -> dict[str, Any]:
    used = normalizer.last_format
    learner = normalizer.learner
    if used is None:
        reason = ("no timestamp: no format family, declared format or learned layout reads this line "
                  "(the read time is used)")
    elif used == "declared":
        reason = "the source's declared format"
    elif used == "learned":
        standing = len(learner.candidates)
        if "layout_unsettled" in flags and standing == 1:
            reason = ("learned (settled), but the line's date, written without padding, reads two ways "
                      "and the line before does not tell which: the reading nearest it (else the read "
                      "time), flagged layout_unsettled")
        elif "layout_unsettled" in flags:
            reason = (f"of {standing} candidate layouts still standing, the one whose readings were most "
                      "often the likeliest (nearest its previous one, else the latest not after the read "
                      "time); they disagree on this line, so it is flagged layout_unsettled")
        elif standing == 1:
            reason = "learned: the only candidate layout left standing by this source's lines (settled)"
        else:
            reason = f"{standing} candidate layouts still stand; they agree on this line"
    elif kept is not None and kept.name == used:
        reason = f"the source's format ({used}), kept from an earlier line, reads this line"
    else:
        reason = (f"detected: {used} is the format whose timestamp starts first in the line "
                  "(a JSON time field wins outright)")
    return {
        "layout": normalizer.last_layout,
        "why": reason,
        "candidates": learner.layouts(),
        "rejected": [{"layout": r.layout, "why": r.why} for r in learner.rejected],
    }


def parse_lines(lines: Iterable[bytes], out: BinaryIO, normalizer: Normalizer, zone: str,
                read_time: Callable[[], int], why: bool = False) -> int:
    """Write one JSON record per line of ``lines`` to ``out`` (flushed per line, so it can
    follow ``tail -f``); the number of lines. ``why``: add each line's ``explain``."""
    n = 0
    for line in lines:
        record = explain(normalizer, line.rstrip(b"\r\n"), read_time(), zone, why)
        out.write(orjson.dumps(record) + b"\n")
        out.flush()
        n += 1
    return n
