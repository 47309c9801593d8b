"""Sealing in a child process: segments come out the same, and a sealer that dies is
replaced without losing or doubling a line."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import threading
from pathlib import Path

from support.stores import batch, lines, make_store

from collector.store.sealing import SEALER_NICENESS, Prepared, SealJob, prepare_from_wal


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


class HeldRunner:
    """A `SealRunner` of width 2 that prepares for real (in this process) but hands each result
    over only when the test releases that job: the order in which sealers finish, chosen."""

    width = 2

    def __init__(self) -> None:
        self.jobs: list[tuple[SealJob, concurrent.futures.Future[Prepared]]] = []
        self.submitted = threading.Condition()

    def prepare(self, job: SealJob) -> concurrent.futures.Future[Prepared]:
        future: concurrent.futures.Future[Prepared] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        with self.submitted:
            self.jobs.append((job, future))
            self.submitted.notify_all()
        return future

    def wait_for(self, count: int) -> None:
        with self.submitted:
            assert self.submitted.wait_for(lambda: len(self.jobs) >= count, timeout=60), \
                f"{len(self.jobs)} jobs handed to the sealers, expected {count}"

    def release(self, k: int) -> None:
        job, future = self.jobs[k]
        future.set_result(prepare_from_wal(job))

    def release_all(self) -> None:
        """So that a failing test leaves no sealing thread waiting."""
        for k, (_, future) in enumerate(self.jobs):
            if not future.done():
                self.release(k)


async def test_a_sealer_that_finishes_first_takes_the_next_file_and_segments_still_chain_in_order(
        tmp_path: Path) -> None:
    # Three WAL files, two sealers. The second file's sealer finishes first: it must take the
    # third file at once rather than idle until the first is done (a round that waited for its
    # slowest prepare left a core idle), and the segments must still chain in WAL order.
    store = make_store(tmp_path, segment_max_bytes=1 << 16)
    for k in range(3):  # each file over segment_max_bytes: a segment of its own
        await store.append("city", batch("s", k * 400, 400, text="x" * 200), 1)
        await store._tenants["city"].cut()
    tenant = store._tenants["city"]
    runner = tenant.runner = HeldRunner()
    sealing = concurrent.futures.ThreadPoolExecutor(1).submit(tenant.seal_pending)
    try:
        runner.wait_for(2)
        runner.release(1)
        runner.wait_for(3)  # the freed sealer took the third file; the first is still being prepared
        assert tenant.catalog.segments() == []  # nothing is chained before the oldest file
        runner.release(0)
        runner.release(2)
        assert sealing.result(timeout=60) == 3
    finally:
        runner.release_all()
    segments = tenant.catalog.segments()
    assert [s.number for s in segments] == [1, 2, 3]
    assert [(s.min_ts, s.max_ts) for s in segments] == [(1_000 + k * 400, 1_399 + k * 400) for k in range(3)]
    assert lines(store, "city") == sorted(f"{'x' * 200} {i}" for i in range(1200))
    assert store.verify("city").clean
    store.close()
