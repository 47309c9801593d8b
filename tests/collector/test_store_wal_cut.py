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


# ---- what a head beside the file cannot tell: the file and its head gone or cut together ----
# The collector signs what each WAL file held when its first records were acknowledged and when
# it was closed, in checkpoints.log (wal_ledger.py); a third party holding the public key sees it.

def offline(root: Path, store: LocalStore) -> list[tuple[str, str]]:
    """verify as a third party would, before the collector opens the store again: no keys."""
    from collector.store.verify import verify_tenant

    report = verify_tenant(root / "tenants" / TENANT, TENANT, None, store.signer.public, store.signer.id)
    return [(f.kind, f.where) for f in report.findings]


async def closed_wal(root: Path) -> tuple[LocalStore, Path]:
    """500 lines acknowledged in 5 group commits in a WAL file closed for sealing (not sealed)."""
    store = make_store(root)
    for k in range(5):
        await store.append(TENANT, batch("s", k * 100, 100), 1)
    await store._tenants[TENANT].cut()
    store.close()
    [wal] = (root / "tenants" / TENANT / "wal").glob("wal-*.log")
    return store, wal


def cut_both(wal: Path, head_records: int) -> None:
    """Cut a WAL file and its head together, consistently, back to the head's first
    ``head_records`` records (0: the header alone, no head): what an intruder with the disk,
    not the keys, can do."""
    from collector.store.frames import scan_frames
    from collector.store.wal import head_path, parse_header, read_head

    head = head_path(wal)
    if head_records == 0:
        head.unlink()
        wal.write_bytes(wal.read_bytes()[: parse_header(wal.read_bytes())[1]])
        return
    frames, _, _ = scan_frames(head.read_bytes())
    head.write_bytes(head.read_bytes()[: frames[head_records].offset])
    earlier = read_head(head)
    assert earlier is not None and earlier.frames == head_records
    wal.write_bytes(wal.read_bytes()[: earlier.end])


async def test_a_wal_file_removed_with_its_head_is_named(tmp_path: Path) -> None:
    wal = await five_hundred_acknowledged(tmp_path)
    signer = make_store(tmp_path)
    signer.close()
    wal.unlink()
    wal.with_suffix(".head").unlink()
    assert offline(tmp_path, signer) == [("missing", wal.name)]
    events = RecordedEvents()
    store = make_store(tmp_path, events=events)
    assert [where for where, _ in events.damage] == [wal.name]  # said at once: an alert
    assert findings(store) == [("missing", wal.name)]
    store.close()
    store = make_store(tmp_path)  # and for good, not once per start
    assert findings(store) == [("missing", wal.name)]
    store.close()


async def test_a_closed_wal_file_cut_with_its_head_is_named(tmp_path: Path) -> None:
    store, wal = await closed_wal(tmp_path)
    cut_both(wal, 2)  # 200 of the 500 acknowledged lines left, the head agreeing
    assert offline(tmp_path, store) == [("truncated", wal.name)]
    events = RecordedEvents()
    store = make_store(tmp_path, events=events)
    assert [where for where, _ in events.damage] == [wal.name]
    assert "a cut, not a torn write" in events.damage[0][1]
    await store.seal(TENANT)  # sealing the 200 left does not make the loss go away
    assert len(lines(store, TENANT)) == 200
    assert findings(store) == [("truncated", wal.name)]
    store.close()


async def test_a_closed_wal_file_cut_while_the_collector_runs_is_named_before_it_is_sealed(
        tmp_path: Path) -> None:
    store = make_store(tmp_path)
    for k in range(5):
        await store.append(TENANT, batch("s", k * 100, 100), 1)
    await store._tenants[TENANT].cut()
    [wal] = (tmp_path / "tenants" / TENANT / "wal").glob("wal-*.log")
    cut_both(wal, 3)
    assert await store.seal(TENANT) == 1
    assert len(lines(store, TENANT)) == 300
    assert findings(store) == [("truncated", wal.name)]
    store.close()


async def test_the_open_wal_file_cut_with_its_head_below_its_first_records_is_named(tmp_path: Path) -> None:
    """The file being written is anchored by its first acknowledged records only: a cut of both
    to nothing is named; a consistent cut after them is not (docs/admin.md, "What verify
    reports", says so)."""
    wal = await five_hundred_acknowledged(tmp_path)
    signer = make_store(tmp_path)
    signer.close()
    cut_both(wal, 0)
    assert offline(tmp_path, signer) == [("truncated", wal.name)]


async def test_a_wal_file_sealed_then_its_segment_row_and_file_removed_are_both_named(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    await store.append(TENANT, batch("s", 0, 100), 1)
    assert await store.seal(TENANT) == 1
    await store.append(TENANT, batch("s", 100, 100), 1)
    [wal] = (tmp_path / "tenants" / TENANT / "wal").glob("wal-*.log")
    store.close()
    assert offline(tmp_path, store) == []  # sealed, and one present: accounted for
    wal.unlink()
    wal.with_suffix(".head").unlink()
    assert offline(tmp_path, store) == [("missing", wal.name)]


async def test_a_backup_taken_with_unsealed_wal_files_restores_clean(tmp_path: Path) -> None:
    """A backup holds sealed segments only: the signed records of the WAL files it does not
    hold are left out of its checkpoints.log, so the restored store misses nothing."""
    from collector.store.backup import restore_backup

    store = make_store(tmp_path / "a")
    await store.append(TENANT, batch("s", 0, 100), 1)
    assert await store.seal(TENANT) == 1
    await store.append(TENANT, batch("s", 100, 100), 1)  # in the WAL at backup time
    archive = tmp_path / "backup.tar"
    with archive.open("wb") as out:
        store.backup(TENANT, out, "test")
    result = restore_backup(archive, tmp_path / "b", store.keys, store.signer.public, store.signer.id)
    assert result.restored and result.report.clean, result.report.findings
    store.close()
