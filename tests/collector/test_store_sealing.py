"""Sealing in a child process: segments come out the same, and a sealer that dies is
replaced without losing or doubling a line."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from support.stores import batch, lines, make_store

from collector.store.sealing import SEALER_NICENESS


def sealer_children() -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if ppid == os.getpid() and b"collector.store.sealing" in cmdline:
            found.append(int(stat.parent.name))
    return found


def niceness(pid: int) -> int:
    """The process's nice value, from /proc/PID/stat."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def bytes_read(pid: int) -> int:
    """Bytes the process has read (files and pipes), from /proc/PID/io."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError(f"no rchar for {pid}")


async def test_a_killed_sealer_process_is_replaced_and_nothing_is_lost(tmp_path: Path) -> None:
    store = make_store(tmp_path, seal_in_subprocess=True, sealers=1)
    await store.append("city", batch("s", 0, 100), 1)
    assert await store.seal("city") == 1
    [child] = sealer_children()
    os.kill(child, signal.SIGKILL)
    await store.append("city", batch("s", 100, 100), 1)
    assert await store.seal("city") == 1  # a new sealer process
    assert sealer_children() and sealer_children() != [child]
    assert lines(store, "city") == sorted(f"s {i}" for i in range(200))
    report = store.verify("city")
    assert report.clean and report.segments == 2
    store.close()
    assert sealer_children() == []  # closing the store stops its sealer


async def test_a_backlog_is_prepared_by_several_sealers_and_chained_in_order(tmp_path: Path) -> None:
    # Four WAL files of one tenant, and one of another: two sealer processes prepare them side
    # by side; each tenant's segments still chain in WAL order and hold every line once.
    store = make_store(tmp_path, seal_in_subprocess=True, sealers=2, segment_max_bytes=1 << 16)
    for k in range(4):
        await store.append("city", batch("s", k * 400, 400, text="x" * 200), 1)
        await store._tenants["city"].cut()
    await store.append("port", batch("p", 0, 10), 1)
    children = sealer_children()
    assert len(children) == 2  # started with the store
    before = {pid: bytes_read(pid) for pid in children}
    assert await store.seal("city") == 4
    # Both processes read WAL files (each file is over 64 KiB).
    assert all(bytes_read(pid) - before[pid] > 1 << 16 for pid in children)
    # They sealed below ingest's priority: a seal must not take the core from acknowledgements.
    assert [niceness(pid) for pid in children] == [min(niceness(os.getpid()) + SEALER_NICENESS, 19)] * 2
    assert await store.seal("port") == 1
    assert lines(store, "city") == sorted(f"{'x' * 200} {i}" for i in range(1600))
    assert lines(store, "port") == sorted(f"p {i}" for i in range(10))
    segments = store._tenants["city"].catalog.segments()
    assert [s.number for s in segments] == [1, 2, 3, 4]
    assert [(s.min_ts, s.max_ts) for s in segments] == [(1_000 + k * 400, 1_399 + k * 400) for k in range(4)]
    for tenant in ("city", "port"):
        assert store.verify(tenant).clean
    store.close()
    assert sealer_children() == []
