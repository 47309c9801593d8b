"""The free space a store keeps for itself: appends stop before the disk is full.

A full disk would stop more than ingest. Sealing frees space (a segment is about a third of the
WAL it replaces) but must first write the segment; retention and erasure write records too. A
store that let the WAL take the last bytes could not seal its way out. So appends are refused
(`StoreUnavailable`: 503, agents keep the lines and retry) while the filesystem of the data
directory has less free than ``min_free_bytes``; sealing, queries and administration go on,
and appends resume by themselves once space is back.
"""

from __future__ import annotations

import os
from pathlib import Path

from collector.store import StoreUnavailable

__all__ = ["FreeSpace"]


class FreeSpace:
    def __init__(self, directory: Path, min_free_bytes: int) -> None:
        self.directory, self.min_free_bytes = directory, min_free_bytes

    def free_bytes(self) -> int:
        """Bytes an unprivileged writer may still use on the data directory's filesystem."""
        found = os.statvfs(self.directory)
        return found.f_bavail * found.f_frsize

    def check(self) -> None:
        """Raise `StoreUnavailable` while the filesystem has less free than the minimum."""
        if self.min_free_bytes <= 0:
            return
        free = self.free_bytes()
        if free < self.min_free_bytes:
            raise StoreUnavailable(
                f"the store's filesystem ({self.directory}) has {free} bytes free, below "
                f"store.min_free_bytes ({self.min_free_bytes}): appends wait, so that sealing and "
                "retention can still write; free space there (or lower the setting)")
