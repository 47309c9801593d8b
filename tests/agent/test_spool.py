"""The on-disk spool, on real files (and a real full file system)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.delivery.spool import Spool, SpoolCorrupt, SpoolFull


def test_batches_survive_a_reopen_in_order_and_unfinished_writes_are_discarded(tmp_path: Path) -> None:
    spool, _ = Spool(tmp_path, 1 << 20, "block").open()
    spool.append(b"first", "zstd", [("file:/a", 0, 3)], 111)
    spool.append(b"second", "gzip", [("syslog", 5, 2), ("file:/a", 3, 1)], 222)
    (tmp_path / ".0000000000000002.batch.tmp").write_bytes(b"torn")  # a crash mid-write
    again, bad = Spool(tmp_path, 1 << 20, "block").open()
    assert bad == [] and len(again) == 2
    first = again.oldest()
    assert first is not None and first.chunks == (("file:/a", 0, 3),) and again.read(first) == b"first"
    again.remove(first)
    second = again.oldest()
    assert second is not None and second.encoding == "gzip" and again.read(second) == b"second"
    assert sorted(os.listdir(tmp_path)) == [second.name]
    assert again.report().batches == 1 and again.report().oldest_created == 222


def test_block_refuses_a_batch_that_does_not_fit(tmp_path: Path) -> None:
    spool, _ = Spool(tmp_path, 600, "block").open()
    spool.append(b"x" * 300, "zstd", [("s", 0, 1)], 1)
    with pytest.raises(SpoolFull):
        spool.append(b"y" * 300, "zstd", [("s", 1, 1)], 2)
    assert len(spool) == 1


def test_drop_oldest_makes_room_and_says_what_it_deleted(tmp_path: Path) -> None:
    spool, _ = Spool(tmp_path, 800, "drop_oldest").open()
    spool.append(b"a" * 300, "zstd", [("s", 0, 10)], 1)
    spool.append(b"b" * 300, "zstd", [("s", 10, 10)], 2)
    dropped = spool.append(b"c" * 300, "zstd", [("s", 20, 10)], 3)
    assert [e.chunks for e in dropped] == [(("s", 0, 10),)]
    oldest = spool.oldest()
    assert oldest is not None and spool.read(oldest) == b"b" * 300 and spool.size <= 800


def test_a_damaged_batch_is_detected_not_sent(tmp_path: Path) -> None:
    spool, _ = Spool(tmp_path, 1 << 20, "block").open()
    spool.append(b"payload", "zstd", [("s", 0, 1)], 1)
    entry = spool.oldest()
    assert entry is not None
    path = tmp_path / entry.name
    path.write_bytes(path.read_bytes()[:-7] + b"PAYLOAD")
    with pytest.raises(SpoolCorrupt):
        spool.read(entry)


def test_an_unreadable_file_is_moved_aside_not_deleted(tmp_path: Path) -> None:
    (tmp_path / "0000000000000007.batch").write_bytes(b"garbage")
    spool, bad = Spool(tmp_path, 1 << 20, "block").open()
    assert len(spool) == 0 and len(bad) == 1 and (tmp_path / "0000000000000007.batch.bad").exists()


def test_a_full_disk_is_spool_full_or_drops_the_oldest(small_tmpfs: Path) -> None:
    block, _ = Spool(small_tmpfs / "b", 1 << 30, "block").open()
    body = os.urandom(60 << 10)
    with pytest.raises(SpoolFull, match="no space"):
        for i in range(10):
            block.append(body, "zstd", [("s", i, 1)], i)
    stored = len(block)
    assert 0 < stored < 10
    for name in os.listdir(small_tmpfs / "b"):
        os.unlink(small_tmpfs / "b" / name)
    dropping, _ = Spool(small_tmpfs / "d", 1 << 30, "drop_oldest").open()
    deleted = []
    for i in range(10):
        deleted += dropping.append(body, "zstd", [("s", i, 1)], i)
    assert deleted and len(dropping) + len(deleted) == 10
    newest = [e.chunks[0][1] for e in [dropping.oldest()] if e is not None]
    assert newest and newest[0] == len(deleted)  # the oldest went first
