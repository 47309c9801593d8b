"""A store keeps free space for itself: on a real filesystem that fills up (a 64 MiB tmpfs),
appends are refused before the disk is full, sealing still frees space, and appends resume by
themselves once space is back; nothing acknowledged is lost."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from support.stores import batch, lines, make_store

from collector.store import StoreUnavailable


@pytest.fixture
def small_fs(mount_tmpfs: Callable[[str], Path]) -> Path:
    return mount_tmpfs("64m")


def fill(path: Path, leave: int) -> None:
    """Write a file that leaves about ``leave`` bytes free on ``path``'s filesystem."""
    found = os.statvfs(path.parent)
    with open(path, "wb") as f:
        f.write(b"\0" * (found.f_bavail * found.f_frsize - leave))


async def test_appends_wait_for_space_while_sealing_goes_on_and_resume_by_themselves(
        small_fs: Path) -> None:
    store = make_store(small_fs / "store", min_free_bytes=24 << 20)
    await store.append("city", batch("s", 0, 100), 1)
    fill(small_fs / "other-program.dat", leave=16 << 20)
    refused = r"has \d+ bytes free, below store.min_free_bytes \(25165824\)"
    with pytest.raises(StoreUnavailable, match=refused):
        await store.append("city", batch("s", 100, 100), 1)
    assert await store.seal("city") == 1  # the margin is sealing's: the WAL becomes a segment
    (small_fs / "other-program.dat").unlink()
    assert (await store.append("city", batch("s", 100, 100), 1)).accepted == 100
    assert lines(store, "city") == sorted(f"s {i}" for i in range(200))
    assert store.verify("city").clean
    store.close()

