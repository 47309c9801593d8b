"""How ``chronolog query`` and ``tail`` print records: a table, plain lines, JSON lines or
CSV. Pure: records in, text out.

Plain and table output mark what an investigator must not overlook: a time not read from
the line itself (``read_time``, ``assumed_zone``, ``inferred_year``), a clock over its budget
or unknown, a line stamped in the future, a line only its corrected time brings into the
window, and an order that the clocks' error bounds cannot decide. Context lines are told
from hits as grep tells them: ``-`` after the stream instead of ``:``.
"""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

__all__ = ["FORMATS", "Printer", "marks", "seconds"]

FORMATS = ("table", "plain", "json", "csv")
CSV_COLUMNS = ("ts", "host", "stream", "seq", "agent", "kind", "ts_source", "clock_status", "corrected",
               "error_bound", "flags", "msg")


def marks(record: dict[str, Any]) -> list[str]:
    """Words for what is unusual about a record's time, in a fixed order."""
    out = []
    if record.get("ts_source", "explicit") != "explicit":
        out.append(str(record["ts_source"]))
    out += [f for f in record.get("flags", []) if f != "corrected_in_window"]
    if "corrected_in_window" in record.get("flags", []):
        out.append("corrected_in_window")
    return out


def seconds(value: float | None) -> str:
    """An error bound, readably: ``±2.1ms``, ``±350µs``, ``±3.0s``; ``±?`` when unknown."""
    if value is None:
        return "±?"
    if value >= 1:
        return f"±{value:.1f}s"
    if value >= 1e-3:
        return f"±{value * 1e3:.1f}ms"
    return f"±{value * 1e6:.0f}µs"


class Printer:
    """Writes records to ``out`` in one format. ``corrected``: the time shown is the
    corrected one, with its error bound. ``context``: context lines were asked for, so a
    ``--`` separates lines that are not one stretch of a stream (as grep does)."""

    def __init__(self, out: TextIO, fmt: str, corrected: bool = False, context: bool = False) -> None:
        self.out, self.fmt, self.corrected, self.context = out, fmt, corrected, context
        self._csv = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
        self._header = False
        self._previous: tuple[Any, Any, Any, int] | None = None
        self._widths = [0, 0, 0]

    def record(self, r: dict[str, Any]) -> None:
        if self.fmt == "json":
            self.out.write(json.dumps(r, ensure_ascii=False) + "\n")
        elif self.fmt == "csv":
            self._csv_row(r)
        else:
            self._text(r)

    def _time(self, r: dict[str, Any]) -> str:
        if self.corrected:
            return f"{r.get('corrected') or r.get('ts')} {seconds(r.get('error_bound'))}"
        return str(r.get("ts"))

    def _text(self, r: dict[str, Any]) -> None:
        here = (r.get("host"), r.get("stream"), r.get("agent"), int(r.get("seq") or 0))
        if self.context and self._previous is not None and (
                here[:3] != self._previous[:3] or here[3] != self._previous[3] + 1):
            self.out.write("--\n")
        self._previous = here
        sep = ":" if r.get("kind", "hit") == "hit" else "-"
        words = marks(r)
        tag = f"[{' '.join(words)}] " if words else ""
        cells = [self._time(r), str(r.get("host")), f"{r.get('stream')}{sep}"]
        if self.fmt == "table":
            self._widths = [max(w, len(c)) for w, c in zip(self._widths, cells, strict=True)]
            cells = [c.ljust(w) for c, w in zip(cells, self._widths, strict=True)]
        self.out.write(f"{' '.join(cells)} {tag}{r.get('msg')}\n")

    def _csv_row(self, r: dict[str, Any]) -> None:
        assert self._csv is not None
        if not self._header:
            self._csv.writerow(CSV_COLUMNS)
            self._header = True
        clock = r.get("clock") or {}
        bound = r.get("error_bound")
        self._csv.writerow([r["ts"], r["host"], r["stream"], r["seq"], r["agent"], r.get("kind", "hit"),
                            r["ts_source"], clock.get("status") or "", r.get("corrected") or "",
                            "" if bound is None else bound, " ".join(r.get("flags", [])), r["msg"]])
