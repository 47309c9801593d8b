from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from chronolog.wire import Batch, Chunk, ClockView
from collector.store import StoreUnavailable
from collector.store.local import LocalStore

CLOCK = ClockView(reason="test")


def batch(stream: str, seq: int, n: int, host: str = "web-1", agent: str = "a1") -> Batch:
    chunk = Chunk(stream, seq, 1, CLOCK, [f"{stream} {seq + i}" for i in range(n)],
                  [1_000 + seq + i for i in range(n)], ["explicit"] * n, [None] * n)
    return Batch(agent, host, "Asia/Tokyo", 1, [chunk])


def lines(store: LocalStore, tenant: str) -> list[str]:
    return sorted(m for sb in store.batches(tenant, 0, 2**62) for c in sb.batch.chunks for m in c.msg)


async def test_each_line_is_stored_once_whatever_is_resent(tmp_path: Path) -> None:
    store = LocalStore(tmp_path).open()
    first = await store.append("city", batch("s", 0, 5), 1)
    again = await store.append("city", batch("s", 3, 5), 2)  # 3,4 held; 5,6,7 new
    assert (first.accepted, first.duplicates) == (5, 0)
    assert (again.accepted, again.duplicates) == (3, 2)
    assert lines(store, "city") == sorted(f"s {i}" for i in range(8))


async def test_same_seq_from_another_agent_or_stream_is_not_a_duplicate(tmp_path: Path) -> None:
    store = LocalStore(tmp_path).open()
    await store.append("city", batch("s", 0, 2), 1)
    assert (await store.append("city", batch("s", 0, 2, agent="a2"), 1)).accepted == 2
    assert (await store.append("city", batch("t", 0, 2), 1)).accepted == 2


async def test_tenants_are_kept_apart(tmp_path: Path) -> None:
    store = LocalStore(tmp_path).open()
    await store.append("city", batch("s", 0, 2), 1)
    await store.append("other", batch("s", 0, 3), 1)
    assert len(lines(store, "city")) == 2
    assert len(lines(store, "other")) == 3
    assert list(store.batches("nobody", 0, 1)) == []


async def test_reopening_keeps_lines_and_dedup_state(tmp_path: Path) -> None:
    store = LocalStore(tmp_path).open()
    await store.append("city", batch("s", 0, 4), 1)
    store.close()
    reopened = LocalStore(tmp_path).open()
    assert (await reopened.append("city", batch("s", 2, 4), 2)).accepted == 2
    assert lines(reopened, "city") == sorted(f"s {i}" for i in range(6))


async def test_a_torn_write_is_cut_away_on_open(tmp_path: Path) -> None:
    store = LocalStore(tmp_path).open()
    await store.append("city", batch("s", 0, 2), 1)
    store.close()
    wal = next((tmp_path / "tenants" / "city").glob("wal-*.log"))
    whole = wal.stat().st_size
    with wal.open("ab") as f:
        f.write(b"CLF1\x00\x00\x10\x00garbage")  # a frame header promising more than is there
    reopened = LocalStore(tmp_path).open()
    assert wal.stat().st_size == whole
    assert lines(reopened, "city") == ["s 0", "s 1"]
    assert (await reopened.append("city", batch("s", 2, 1), 2)).accepted == 1
    assert lines(LocalStore(tmp_path).open(), "city") == ["s 0", "s 1", "s 2"]


async def test_concurrent_appends_all_become_durable(tmp_path: Path) -> None:
    store = LocalStore(tmp_path).open()
    results = await asyncio.gather(*(store.append("city", batch(f"s{i}", 0, 10), 1) for i in range(50)))
    assert sum(r.accepted for r in results) == 500
    store.close()
    assert len(lines(LocalStore(tmp_path).open(), "city")) == 500


async def test_a_full_disk_is_not_acknowledged_and_the_retry_succeeds(small_tmpfs: Path) -> None:
    store = LocalStore(small_tmpfs).open()
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
    assert len(lines(LocalStore(small_tmpfs).open(), "city")) == 201


def test_path_tricks_in_tenant_names_are_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path).open()
    for name in ("../etc", "a/b", "", "UPPER", "x" * 64):
        with pytest.raises(ValueError):
            asyncio.run(store.append(name, batch("s", 0, 1), 1))


async def test_streams_report_counts_and_gaps(tmp_path: Path) -> None:
    store = LocalStore(tmp_path).open()
    await store.append("city", batch("s", 0, 3), 1)
    await store.append("city", batch("s", 5, 2), 1)
    [report] = store.streams("city")
    assert (report.lines, report.last_seq, report.gaps) == (5, 6, [(3, 5)])
