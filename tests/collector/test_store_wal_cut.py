"""A WAL cut after the fact is told from a write torn by a crash (issue 16): acknowledged
records are counted by the head kept beside each WAL file, so a cut, a removed file or a
damaged last record is named by verify, for good, while a torn, unacknowledged tail is cut away
quietly as before."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support.stores import RecordedEvents, batch, lines, make_store

from collector.store.local import LocalStore

TENANT = "city"


async def five_hundred_acknowledged(root: Path) -> Path:
    """500 lines acknowledged in 5 group commits, the collector stopped; returns the WAL file."""
    store = make_store(root)
    for k in range(5):
        await store.append(TENANT, batch("s", k * 100, 100), 1)
    store.close()
    [wal] = (root / "tenants" / TENANT / "wal").glob("wal-*.log")
    return wal


def cut_end(n: int) -> Callable[[bytes], bytes]:
    return lambda data: data[:-n]


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def flip_last_record(data: bytes) -> bytes:
    damaged = bytearray(data)
    damaged[-10] ^= 0x01
    return bytes(damaged)


def findings(store: LocalStore) -> list[tuple[str, str]]:
    return [(f.kind, f.where) for f in store.verify(TENANT).findings]


@pytest.mark.parametrize("damage", [cut_end(100), half, flip_last_record], ids=["100 bytes", "half", "flip"])
async def test_acknowledged_records_cut_from_the_wal_are_named_by_verify_for_good(
        tmp_path: Path, damage: Callable[[bytes], bytes]) -> None:
    wal = await five_hundred_acknowledged(tmp_path)
    wal.write_bytes(damage(wal.read_bytes()))
    events = RecordedEvents()
    store = make_store(tmp_path, events=events)
    assert [where for where, _ in events.damage] == [wal.name]  # said at once: an alert
    assert "a cut, not a torn write" in events.damage[0][1]
    assert findings(store) == [("truncated", wal.name)]
    assert 0 < len(lines(store, TENANT)) < 500  # what is left is still served
    await store.seal(TENANT)  # sealing what is left removes the file...
    assert not wal.exists()
    store.close()
    store = make_store(tmp_path)
    report = store.verify(TENANT)
    assert [(f.kind, f.where) for f in report.findings] == [("truncated", wal.name)]  # ...not the finding
    assert "found when the collector opened the store" in report.findings[0].detail
    store.close()


async def test_offline_a_cut_is_found_before_the_collector_opens_the_store(tmp_path: Path) -> None:
    from collector.store.verify import verify_tenant

    wal = await five_hundred_acknowledged(tmp_path)
    wal.write_bytes(wal.read_bytes()[:-100])
    report = verify_tenant(tmp_path / "tenants" / TENANT, TENANT, None, b"", "")  # no keys: a third party
    assert ("truncated", wal.name) in [(f.kind, f.where) for f in report.findings]


async def test_a_torn_write_past_the_acknowledged_records_is_cut_away_quietly(tmp_path: Path) -> None:
    wal = await five_hundred_acknowledged(tmp_path)
    with wal.open("ab") as f:
        f.write(b"CLF1\x00\x00\x10\x00torn")  # a group the crash tore: never acknowledged
    events = RecordedEvents()
    store = make_store(tmp_path, events=events)
    assert events.damage == []
    assert store.verify(TENANT).clean
    assert len(lines(store, TENANT)) == 500
    store.close()


async def test_records_made_durable_but_not_yet_counted_by_the_head_are_kept(tmp_path: Path) -> None:
    """A crash between the file's fsync and its head's: the file is longer than its head says."""
    wal = await five_hundred_acknowledged(tmp_path)
    head = wal.with_suffix(".head")
    data = head.read_bytes()
    head.write_bytes(data[: data.rindex(b"CLF1")])  # the last head record never made it
    events = RecordedEvents()
    store = make_store(tmp_path, events=events)
    assert events.damage == [] and store.verify(TENANT).clean
    assert len(lines(store, TENANT)) == 500
    store.close()


async def test_a_wal_file_removed_whole_is_named(tmp_path: Path) -> None:
    wal = await five_hundred_acknowledged(tmp_path)
    wal.unlink()
    events = RecordedEvents()
    store = make_store(tmp_path, events=events)
    assert [where for where, _ in events.damage] == [wal.name]
    assert findings(store) == [("missing", wal.name)]
    store.close()
