"""Delivery: batch the stamped chunks, ship them to the collector, commit after the ack.

A chunk travels with its `Mark`: what committing it means for its stream (the next sequence
number and the input's position after its last line). Marks are committed to the checkpoint
file only once the collector has acknowledged the chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chronolog.wire import Chunk

__all__ = ["Mark", "Pending"]


@dataclass(frozen=True, slots=True)
class Mark:
    stream: str
    next_seq: int  # the seq of the first line after this chunk
    position: dict[str, Any]  # input-specific and JSON-serialisable: where to resume


@dataclass(frozen=True, slots=True)
class Pending:
    """A chunk waiting to be shipped, its mark, and its approximate size on the wire."""

    chunk: Chunk
    mark: Mark
    size: int
