"""The checkpoint file: per stream, where to resume and which sequence numbers are used.

For each stream it keeps ``next_seq`` and ``position`` (the first line not yet acknowledged
by the collector, and where it is in the input), ``ts_layouts`` (the timestamp layouts
learned for the stream up to that position, so a restart reads on with the same layout), and
``high_seq``, one past the highest
sequence number ever sent. ``high_seq`` is written *before* a batch is sent, so that after a
restart an input that cannot resume its old position (a file replaced while the agent was
down) starts numbering at ``high_seq`` and never reuses a number the collector may already
hold for another line.

The file also carries the ledger (`agent.delivery.ledger`), so the counts of lines spooled,
acknowledged and dropped are saved in the same atomic write as the positions they account for.

Writes are atomic (`chronolog.fsutil.swap_write`: the new text written over a spare copy,
fsync'd, the two names exchanged, the directory fsync'd).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from agent.delivery import Mark
from agent.delivery.ledger import Ledger
from chronolog.fsutil import swap_write

__all__ = ["Checkpoints", "StreamState"]


@dataclass(frozen=True, slots=True)
class StreamState:
    next_seq: int
    high_seq: int
    position: dict[str, Any] | None
    high_position: dict[str, Any] | None = None  # where the line before high_seq was read
    ts_layouts: list[str] | None = None  # timestamp layouts learned up to position


class Checkpoints:
    def __init__(self, path: Path, ledger: Ledger | None = None) -> None:
        self.path = path
        self.ledger = ledger
        self._streams: dict[str, dict[str, Any]] = {}
        self._saved: bytes | None = None

    def load(self) -> Checkpoints:
        try:
            doc = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return self
        except orjson.JSONDecodeError as e:
            raise ValueError(f"{self.path}: damaged checkpoint file ({e}); move it aside to "
                             "re-read every input from the start") from None
        self._streams = doc.get("streams", {})
        if self.ledger is not None:
            self.ledger.restore(doc.get("ledger"))
        return self

    def get(self, stream: str) -> StreamState:
        entry = self._streams.get(stream)
        if entry is None:
            return StreamState(0, 0, None)
        return StreamState(entry["next_seq"], entry["high_seq"], entry.get("position"),
                           entry.get("high_position"), entry.get("ts_layouts"))

    def commit(self, marks: list[Mark]) -> None:
        """Record acknowledged marks (in memory; `save` makes them durable)."""
        for mark in marks:
            entry = self._entry(mark.stream)
            if mark.next_seq >= entry["next_seq"]:
                entry["next_seq"] = mark.next_seq
                entry["position"] = mark.position
                if mark.ts_layouts is not None:
                    entry["ts_layouts"] = list(mark.ts_layouts)
            entry["high_seq"] = max(entry["high_seq"], mark.next_seq)

    def reserve(self, marks: list[Mark]) -> bool:
        """Raise ``high_seq`` to cover marks about to be sent; True if anything changed."""
        changed = False
        for mark in marks:
            entry = self._entry(mark.stream)
            if mark.next_seq > entry["high_seq"]:
                entry["high_seq"] = mark.next_seq
                entry["high_position"] = mark.position
                changed = True
        return changed

    def _entry(self, stream: str) -> dict[str, Any]:
        entry = self._streams.get(stream)
        if entry is None:
            entry = self._streams[stream] = {"next_seq": 0, "high_seq": 0, "position": None}
        return entry

    def save(self) -> None:
        """Write the file if it changed since the last save (blocking; call in a thread)."""
        doc: dict[str, Any] = {"version": 1, "streams": self._streams}
        if self.ledger is not None:
            doc["ledger"] = self.ledger.to_json()
        data = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        if data == self._saved:
            return
        swap_write(self.path, data)
        self._saved = data
