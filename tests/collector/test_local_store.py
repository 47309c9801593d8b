"""The local store's write path and recovery: durable, de-duplicated, torn tails cut away."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest
from support.stores import RecordedEvents, batch, lines, make_store

from collector.store import StoreUnavailable


async def test_each_line_is_stored_once_whatever_is_resent(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    first = await store.append("city", batch("s", 0, 5), 1)
    again = await store.append("city", batch("s", 3, 5), 2)  # 3,4 held; 5,6,7 new
    assert (first.accepted, first.duplicates) == (5, 0)
    assert (again.accepted, again.duplicates) == (3, 2)
    assert lines(store, "city") == sorted(f"s {i}" for i in range(8))


async def test_resent_lines_are_duplicates_after_sealing_and_reopening_too(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    await store.append("city", batch("s", 0, 4), 1)
    assert await store.seal("city") == 1
    assert (await store.append("city", batch("s", 2, 4), 2)).accepted == 2
    store.close()
    reopened = make_store(tmp_path)
    assert (await reopened.append("city", batch("s", 0, 7), 3)).accepted == 1
    assert lines(reopened, "city") == sorted(f"s {i}" for i in range(7))


async def test_same_seq_from_another_agent_or_stream_is_not_a_duplicate(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    await store.append("city", batch("s", 0, 2), 1)
    assert (await store.append("city", batch("s", 0, 2, agent="a2"), 1)).accepted == 2
    assert (await store.append("city", batch("t", 0, 2), 1)).accepted == 2


async def test_tenants_are_kept_apart(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    await store.append("city", batch("s", 0, 2), 1)
    await store.append("other", batch("s", 0, 3), 1)
    await store.seal("other")
    assert len(lines(store, "city")) == 2
    assert len(lines(store, "other")) == 3
    assert list(store.scan("nobody", 0, 1)) == []
    assert store.keys.active("city")[0] != store.keys.active("other")[0]


async def test_nothing_is_stored_in_clear(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    await store.append("city", batch("s", 0, 50, text="secret-marker"), 1)
    await store.append("city", batch("s", 50, 50, text="secret-marker"), 1)
    await store.seal("city")
    await store.append("city", batch("s", 100, 50, text="secret-marker"), 1)  # stays in the WAL
    store.close()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"secret-marker" not in path.read_bytes(), path
    assert len(lines(make_store(tmp_path), "city")) == 150


async def test_a_torn_write_is_cut_away_on_open(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    await store.append("city", batch("s", 0, 2), 1)
    store.close()
    wal = next((tmp_path / "tenants" / "city" / "wal").glob("wal-*.log"))
    whole = wal.stat().st_size
    with wal.open("ab") as f:
        f.write(b"CLF1\x00\x00\x10\x00garbage")  # a frame header promising more than is there
    reopened = make_store(tmp_path)
    assert wal.stat().st_size == whole
    assert lines(reopened, "city") == ["s 0", "s 1"]
    assert (await reopened.append("city", batch("s", 2, 1), 2)).accepted == 1
    reopened.close()
    assert lines(make_store(tmp_path), "city") == ["s 0", "s 1", "s 2"]


async def test_a_forged_wal_record_is_never_taken_for_data(tmp_path: Path) -> None:
    from collector.store.frames import encode_frame

    store = make_store(tmp_path)
    await store.append("city", batch("s", 0, 2), 1)
    store.close()
    wal = next((tmp_path / "tenants" / "city" / "wal").glob("wal-*.log"))
    with wal.open("ab") as f:  # a well-framed record with a valid CRC but no valid tag
        f.write(encode_frame(b"\0" * 7 + b"\x05" + b"x" * 64))
    reopened = make_store(tmp_path)
    assert lines(reopened, "city") == ["s 0", "s 1"]
    assert [f.kind for f in reopened.verify("city").findings] == ["rewritten"]


async def test_concurrent_appends_all_become_durable(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    results = await asyncio.gather(*(store.append("city", batch(f"s{i}", 0, 10), 1) for i in range(50)))
    assert sum(r.accepted for r in results) == 500
    store.close()
    assert len(lines(make_store(tmp_path), "city")) == 500


async def test_a_full_disk_is_not_acknowledged_and_the_retry_succeeds(small_tmpfs: Path) -> None:
    store = make_store(small_tmpfs / "store", min_free_bytes=0)  # the file system itself refuses
    await store.append("city", batch("s", 0, 1), 1)
    filler = small_tmpfs / "filler"
    with filler.open("wb") as f, contextlib.suppress(OSError):
        f.write(b"\0" * (1 << 20))  # more than the file system holds: ENOSPC
    with pytest.raises(StoreUnavailable):
        await store.append("city", batch("s", 1, 200), 2)
    filler.unlink()
    retried = await store.append("city", batch("s", 1, 200), 3)
    assert retried.accepted == 200  # the failed lines were never marked as held
    store.close()
    reopened = make_store(small_tmpfs / "store", min_free_bytes=0)
    assert len(lines(reopened, "city")) == 201
    assert reopened.verify("city").clean


def test_path_tricks_in_tenant_names_are_refused(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    for name in ("../etc", "a/b", "", "UPPER", "x" * 64):
        with pytest.raises(ValueError):
            asyncio.run(store.append(name, batch("s", 0, 1), 1))


async def test_streams_report_counts_and_gaps(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    await store.append("city", batch("s", 0, 3), 1)
    await store.seal("city")
    await store.append("city", batch("s", 5, 2), 1)
    [report] = store.streams("city")
    assert (report.lines, report.last_seq, report.gaps) == (5, 6, [(3, 5)])


def test_a_second_process_cannot_open_the_same_store(tmp_path: Path) -> None:
    from collector.store.local import StoreLocked

    make_store(tmp_path)
    with pytest.raises(StoreLocked, match="stop it first"):
        make_store(tmp_path)


async def test_a_seal_the_catalog_refuses_leaves_nothing_behind(tmp_path: Path) -> None:
    """Issue 16: a seal commits whole or leaves no file: here another connection holds the
    catalog locked, so SQLite refuses the seal's transaction for real (after its 5 s wait)."""
    store = make_store(tmp_path)
    await store.append("city", batch("s", 0, 2), 1)
    segments = tmp_path / "tenants" / "city" / "segments"
    blocker = sqlite3.connect(tmp_path / "tenants" / "city" / "catalog.sqlite", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    with pytest.raises(sqlite3.OperationalError):
        await store.seal("city")
    assert list(segments.iterdir()) == []  # the failed attempt left no file
    blocker.execute("ROLLBACK")
    blocker.close()
    assert await store.seal("city") == 1
    assert [p.name for p in segments.iterdir()] == ["seg-00000001.cls"]  # the number it first tried
    store.close()
    events = RecordedEvents()
    reopened = make_store(tmp_path, events=events)
    assert events.damage == [] and reopened.verify("city").clean
    reopened.close()


async def test_a_wal_record_the_catalog_cannot_hold_stops_no_seal(tmp_path: Path) -> None:
    """Issue 16: a record written before the wire's limits (appended here past the wire) with a
    seq past SQLite's integers used to fail every seal of the tenant, for good. It is left out
    of the segment, and said; the other lines are sealed."""
    events = RecordedEvents()
    store = make_store(tmp_path, events=events)
    seq = 2**63 - 1
    await store.append("city", batch("s", seq, 2, t0=1_000 - seq), 1)
    await store.append("city", batch("t", 0, 3), 1)
    assert await store.seal("city") == 1
    assert [detail for _, detail in events.damage] == [
        "record 0: 2 line(s) of stream 's' left out of the segment: its seq 9223372036854775807 and 2 "
        "lines run past 9223372036854775806"]
    assert lines(store, "city") == ["t 0", "t 1", "t 2"]
    assert store.verify("city").clean
    store.close()


async def test_a_wal_file_with_no_storable_line_is_removed_and_accounted_for(tmp_path: Path) -> None:
    """Its signed wal_opened record must not later pass for a WAL file gone: the seal that
    removes it without a segment signs a wal_dropped record naming it."""
    events = RecordedEvents()
    store = make_store(tmp_path, events=events)
    seq = 2**63 - 1
    await store.append("city", batch("s", seq, 2, t0=1_000 - seq), 1)
    assert await store.seal("city") == 0
    assert list((tmp_path / "tenants" / "city" / "wal").iterdir()) == []
    store.close()
    events = RecordedEvents()
    reopened = make_store(tmp_path, events=events)
    assert events.damage == []
    assert reopened.verify("city").clean, reopened.verify("city").findings
    reopened.close()


async def test_the_sealing_backlog_is_what_waits_unsealed_and_since_when(tmp_path: Path) -> None:
    """What `chronolog_collector_unsealed_*` report: WAL bytes not sealed yet over every
    tenant, and when the oldest of those files was opened, kept across a restart."""
    import math

    from chronolog.timefmt import now_us
    from collector.telemetry import Telemetry

    store = make_store(tmp_path)
    assert store.backlog() == (0, None)
    before = now_us()
    await store.append("city", batch("s", 0, 100), 1)
    await store.append("town", batch("s", 0, 50), 1)
    after = now_us()
    wal = sorted((tmp_path / "tenants").glob("*/wal/wal-*.log"))
    size, oldest = store.backlog()
    assert size == sum(p.stat().st_size for p in wal) and len(wal) == 2
    assert oldest is not None and before <= oldest <= after
    telemetry = Telemetry()
    telemetry.watch_backlog(store.backlog)
    assert telemetry.registry.get_sample_value("chronolog_collector_unsealed_bytes") == size
    assert telemetry.registry.get_sample_value("chronolog_collector_unsealed_oldest_timestamp_seconds") == \
        oldest / 1e6
    store.close()
    store = make_store(tmp_path)  # the files are recovered: still waiting, since when they were opened
    assert store.backlog() == (size, oldest)
    assert await store.seal("city") == 1
    assert store.backlog()[0] == wal[1].stat().st_size  # town's alone
    assert await store.seal("town") == 1
    assert store.backlog() == (0, None)
    telemetry = Telemetry()
    telemetry.watch_backlog(store.backlog)
    nothing = telemetry.registry.get_sample_value("chronolog_collector_unsealed_oldest_timestamp_seconds")
    assert nothing is not None and math.isnan(nothing)
    store.close()
