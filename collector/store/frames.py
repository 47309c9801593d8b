"""Framing of the local store's log files. Pure; no IO.

A frame is ``MAGIC (4) | payload length (u32 BE) | CRC-32 of payload (u32 BE) | payload``. The
CRC only tells a torn or damaged write from a whole one; tamper evidence is the job of the
store's hash chain, not of this checksum.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["HEADER", "MAGIC", "Frame", "encode_frame", "scan_frames"]

MAGIC = b"CLF1"
HEADER = struct.Struct(">4sII")
MAX_PAYLOAD = 1 << 30


@dataclass(frozen=True, slots=True)
class Frame:
    offset: int
    payload: bytes


def encode_frame(payload: bytes) -> bytes:
    return HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def _frame_at(data: bytes | memoryview, offset: int) -> Frame | None:
    if offset + HEADER.size > len(data):
        return None
    magic, length, crc = HEADER.unpack_from(data, offset)
    end = offset + HEADER.size + length
    if magic != MAGIC or length > MAX_PAYLOAD or end > len(data):
        return None
    payload = bytes(data[offset + HEADER.size : end])
    return Frame(offset, payload) if zlib.crc32(payload) == crc else None


def scan_frames(data: bytes) -> tuple[list[Frame], int, list[int]]:
    """Every whole frame in ``data``.

    Returns ``(frames, valid_end, damaged)``: ``valid_end`` is where the file may be cut when
    nothing valid follows a bad frame (a write torn by a crash); ``damaged`` lists the offsets
    of bad frames that valid frames follow (damage, never silently cut away).
    """
    frames: list[Frame] = []
    damaged: list[int] = []
    offset = 0
    valid_end = 0
    while offset < len(data):
        frame = _frame_at(data, offset)
        if frame is not None:
            frames.append(frame)
            offset += HEADER.size + len(frame.payload)
            valid_end = offset
            continue
        resume = _next_frame(data, offset + 1)
        if resume is None:
            break
        damaged.append(offset)
        offset = resume
    return frames, valid_end, damaged


def _next_frame(data: bytes, start: int) -> int | None:
    for found in _find_all(data, MAGIC, start):
        if _frame_at(data, found) is not None:
            return found
    return None


def _find_all(data: bytes, needle: bytes, start: int) -> Iterator[int]:
    i = data.find(needle, start)
    while i != -1:
        yield i
        i = data.find(needle, i + 1)
