"""The file input's numbering when a resume is not exact (real files, no collector)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.delivery import Mark
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from agent.inputs.files import FileInput, FileSource
from agent.inputs.tail import FileTail
from agent.telemetry import Telemetry
from chronolog.wire import UNKNOWN_CLOCK


def position_after(path: Path, lines: int) -> dict[str, object]:
    tail = FileTail(str(path), None, 1024)
    got = 0
    while got < lines:
        read = tail.poll(3)
        assert read is not None
        got += len(read.lines)
    tail.close()
    return read.position.to_json()


async def shipped(tmp_path: Path, checkpoints: Checkpoints) -> list[tuple[int, list[str]]]:
    queue = BatchQueue(1 << 20, 0.01, 1 << 20)
    source = FileSource(include=[str(tmp_path / "app.log")])
    files = FileInput(source, queue, checkpoints, lambda: UNKNOWN_CLOCK, Telemetry(), set())
    files.discover()
    while await files.poll_once():
        pass
    return [(p.chunk.seq, p.chunk.msg) for p in queue.take_now()]


@pytest.mark.parametrize("sent_from_current_file", [True, False])
async def test_after_a_rotation_while_stopped_numbers_are_never_given_to_other_lines(
        tmp_path: Path, sent_from_current_file: bool) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a0\na1\na2\n")
    committed = position_after(log, 2)
    log.rename(tmp_path / "app.log.1")
    log.write_bytes(b"b0\nb1\n")  # the file the agent had moved to, and sent from, before dying
    sent = position_after(log, 2)
    if not sent_from_current_file:  # ...then rotated again while the agent was down
        log.rename(tmp_path / "app.log.0")
        os.unlink(tmp_path / "app.log.0")
        log.write_bytes(b"c0\n")  # (often in the same inode)
    checkpoints = Checkpoints(tmp_path / "cp.json")
    stream = f"file:{log}"
    checkpoints.commit([Mark(stream, 2, committed)])
    checkpoints.reserve([Mark(stream, 5, sent)])  # a2, b0, b1 were sent, not acknowledged
    got = await shipped(tmp_path, checkpoints)
    if sent_from_current_file:  # the same lines get the same numbers: the collector keeps one
        assert got == [(2, ["a2"]), (3, ["b0", "b1"])]
    else:  # b0 and b1 (3 and 4) are gone: c0 must not take number 3
        assert got == [(2, ["a2"]), (5, ["c0"])]


@pytest.mark.parametrize("same_file", [True, False])
async def test_killed_before_its_first_acknowledgement_the_same_file_gets_the_same_numbers(
        tmp_path: Path, same_file: bool) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a0\na1\na2\n")
    checkpoints = Checkpoints(tmp_path / "cp.json")
    stream = f"file:{log}"
    checkpoints.reserve([Mark(stream, 3, position_after(log, 3))])  # sent, never acknowledged
    if not same_file:  # replaced while the agent was down
        log.unlink()
        log.write_bytes(b"b0\n")
    got = await shipped(tmp_path, checkpoints)
    if same_file:  # the same lines, the same numbers: the collector keeps one of each
        assert got == [(0, ["a0", "a1", "a2"])]
    else:  # another file: past every number sent
        assert got == [(3, ["b0"])]
