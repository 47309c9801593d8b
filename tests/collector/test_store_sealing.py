"""Sealing in a child process: segments come out the same, and a sealer that dies is
replaced without losing or doubling a line."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from support.stores import batch, lines, make_store


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


async def test_a_killed_sealer_process_is_replaced_and_nothing_is_lost(tmp_path: Path) -> None:
    store = make_store(tmp_path, seal_in_subprocess=True)
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
