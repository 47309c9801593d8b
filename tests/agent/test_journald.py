"""The journald input against real journal files, written by systemd-journal-remote and read
by the real journalctl."""

from __future__ import annotations

import asyncio
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.delivery import Mark
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from agent.inputs.journald import STREAM, JournaldConfig, JournaldInput
from agent.telemetry import Telemetry
from chronolog.wire import UNKNOWN_CLOCK

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
BOOT = "0123456789abcdef0123456789abcdef"


def export_entry(n: int, message: bytes, **fields: str) -> bytes:
    """One entry in the journal export format (a binary-safe MESSAGE when it is not text)."""
    lines = [f"__REALTIME_TIMESTAMP={1764202443000000 + n * 1000}".encode(),
             f"__MONOTONIC_TIMESTAMP={1000 + n}".encode(), f"_BOOT_ID={BOOT}".encode()]
    if b"\n" in message or not message.isascii():
        lines.append(b"MESSAGE\n" + struct.pack("<Q", len(message)) + message)
    else:
        lines.append(b"MESSAGE=" + message)
    lines += [f"{k}={v}".encode() for k, v in fields.items()]
    return b"\n".join(lines) + b"\n\n"


def append_to_journal(directory: Path, *entries: bytes) -> None:
    subprocess.run([JOURNAL_REMOTE, f"--output={directory / 'remote.journal'}", "-"],
                   input=b"".join(entries), check=True, capture_output=True)


@pytest.fixture
def journal(tmp_path: Path, require_program: Callable[[str, str], str]) -> Path:
    require_program("journalctl", "systemd")
    if not Path(JOURNAL_REMOTE).exists():
        pytest.skip("needs systemd-journal-remote (Debian package systemd-journal-remote; "
                    "`make test` installs it as root)")
    directory = tmp_path / "journal"
    directory.mkdir()
    return directory


async def take(queue: BatchQueue, lines: int) -> tuple[list[tuple[str, Any]], list[Mark]]:
    """At least ``lines`` messages (with their fields) from the queue, and their marks."""
    got: list[tuple[str, Any]] = []
    marks: list[Mark] = []
    while len(got) < lines:
        for p in await asyncio.wait_for(queue.next_batch(), 30):
            fields = dict(p.chunk.fields)
            got += [(m, fields.get(i)) for i, m in enumerate(p.chunk.msg)]
            marks.append(p.mark)
    return got, marks


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)  # journalctl is killed and reaped


async def test_entries_keep_their_fields_and_a_restart_resumes_after_the_cursor(
        journal: Path, tmp_path: Path) -> None:
    append_to_journal(journal, export_entry(1, b"hello one", PRIORITY="6", SYSLOG_IDENTIFIER="app"),
                      export_entry(2, b"bad \xff byte", PRIORITY="3"))
    checkpoints = Checkpoints(tmp_path / "cp.json")
    config = JournaldConfig(enabled=True, directory=journal)
    queue = BatchQueue(1 << 20, 0.05, 1 << 20)
    task = asyncio.create_task(JournaldInput(config, queue, checkpoints, lambda: UNKNOWN_CLOCK,
                                             Telemetry()).run())
    try:
        got, marks = await take(queue, 2)
    finally:
        await stop(task)
    assert [m for m, _ in got] == ["hello one", "bad \\xff byte"]
    first_fields = got[0][1]
    assert first_fields is not None
    assert first_fields["SYSLOG_IDENTIFIER"] == "app" and first_fields["PRIORITY"] == "6"
    checkpoints.commit(marks)  # as the shipper does after the ack
    checkpoints.save()

    append_to_journal(journal, export_entry(3, b"three"))
    queue = BatchQueue(1 << 20, 0.05, 1 << 20)
    again = JournaldInput(config, queue, Checkpoints(tmp_path / "cp.json").load(),
                          lambda: UNKNOWN_CLOCK, Telemetry())
    task = asyncio.create_task(again.run())
    try:
        batch = await asyncio.wait_for(queue.next_batch(), 30)
    finally:
        await stop(task)
    assert [(p.chunk.stream, p.chunk.seq, p.chunk.msg) for p in batch] == [(STREAM, 2, ["three"])]
