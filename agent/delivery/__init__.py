"""Delivery: batch the stamped chunks, ship them to the collector, commit after the ack.

A chunk travels with its `Mark`: what committing it means for its stream (the next sequence
number and the input's position after its last line). Marks are committed to the checkpoint
file only once the collector has acknowledged the chunk, or once it is fsync'd in the spool
(`spool.py`), which then delivers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chronolog.wire import Chunk, ColumnChunk

__all__ = ["Mark", "Pending"]


@dataclass(frozen=True, slots=True)
class Mark:
    stream: str
    next_seq: int  # the seq of the first line after this chunk
    position: dict[str, Any]  # input-specific and JSON-serialisable: where to resume
    # The timestamp layouts learned for the stream by then (chronolog.timestamps.learn), saved
    # with the position so a restart reads on with them; None: nothing to save.
    ts_layouts: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    """A chunk waiting to be shipped, its mark, and its approximate size on the wire.

    ``generated`` marks a chunk of a stream nothing can read again (syslog, the clock
    stream): it is written to the spool before it is sent, since that is its only copy.
    """

    chunk: Chunk | ColumnChunk
    mark: Mark
    size: int
    generated: bool = False
