"""Rotation under load with the real logrotate, and inode reuse."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from support.fleet import Fleet
from support.processes import wait_for
from support.torture import Writer, assert_exactly_once, ids, ids_on_disk, logrotate


def rotate_while_writing(writer: Writer, config: Path, state: Path, rotations: int) -> None:
    writer.start()
    done = 0
    while writer.is_alive() or done < rotations:
        time.sleep(0.4)
        logrotate(config, state)
        done += 1
    writer.join()


def test_rename_rotation_under_load_loses_and_duplicates_nothing(
        fleet: Fleet, tmp_path: Path, require_program: Callable[[str, str], str]) -> None:
    require_program("logrotate", "logrotate")
    web = fleet.agent("web-1")
    config = tmp_path / "logrotate.conf"
    config.write_text(f"{web.log} {{\n  rotate 1000\n  create\n  missingok\n  compress\n"
                      "  delaycompress\n}\n")
    writer = Writer(web.log, "rename", 30_000, per_write=25, pause=0.002)
    rotate_while_writing(writer, config, tmp_path / "logrotate.state", rotations=4)
    assert len(list(web.log.parent.glob("app.log.*"))) >= 4  # it did rotate, several times
    wait_for(lambda: fleet.stream_lines() >= writer.written, "every line at the collector", timeout=120)
    assert_exactly_once(ids(fleet.messages(), "rename"), set(range(writer.written)))


def test_copytruncate_under_load_recovers_from_the_copy(
        fleet: Fleet, tmp_path: Path, require_program: Callable[[str, str], str]) -> None:
    require_program("logrotate", "logrotate")
    web = fleet.agent("web-1")
    config = tmp_path / "logrotate.conf"
    # compress without delaycompress: the copy is gzip'd (and the plain copy deleted) at once.
    config.write_text(f"{web.log} {{\n  rotate 1000\n  copytruncate\n  missingok\n  compress\n}}\n")
    writer = Writer(web.log, "copytrunc", 30_000, per_write=25, pause=0.002, keep_open=True)
    rotate_while_writing(writer, config, tmp_path / "logrotate.state", rotations=4)
    # logrotate itself loses what is written between its copy and its truncate; the agent must
    # deliver exactly what still exists on disk, in the copies and the live file.
    on_disk = ids_on_disk(web.log.parent, "app.log", "copytrunc")
    wait_for(lambda: fleet.stream_lines() >= len(on_disk), "every line on disk at the collector",
             timeout=120)
    time.sleep(1)  # a late duplicate would arrive now
    received = ids(fleet.messages(), "copytrunc")
    # What logrotate lost exists nowhere on disk, but the agent may have read some of it before
    # the truncate (how much depends on the machine's load): that may arrive, once; nothing else.
    read_before_the_truncate = set(received) & (set(range(writer.written)) - on_disk)
    assert_exactly_once(received, on_disk | read_before_the_truncate)
    assert len(list(web.log.parent.glob("app.log.*.gz"))) >= 1  # it did rotate by copying
    assert "recovered from" in web.daemon.log.read_text()


def test_a_file_replaced_while_stopped_reusing_its_inode_and_header_is_read_whole(fleet: Fleet) -> None:
    header = "# app v1 " + "=" * 1100  # longer than the identity's head: heads are equal
    web = fleet.agent("web-1")
    web.write(header, *(f"old id={i:08d}" for i in range(50)))
    fleet.wait_for_lines(51)
    inode = os.stat(web.log).st_ino
    web.daemon.stop()
    for _ in range(50):  # ext4 usually hands the freed inode to the next new file
        web.log.unlink()
        web.write(header, *(f"new id={i:08d}" for i in range(60)))
        if os.stat(web.log).st_ino == inode:
            break
    else:
        # Other processes on this file system took the inode first: make the checkpoint name
        # the new file's inode, which is exactly what a reused inode looks like to the agent.
        checkpoints = web.log.parent / "state" / "checkpoints.json"
        doc = json.loads(checkpoints.read_text())
        doc["streams"][f"file:{web.log}"]["position"]["ino"] = os.stat(web.log).st_ino
        checkpoints.write_text(json.dumps(doc))
    web.daemon.start()
    fleet.wait_for_lines(51 + 61)
    messages = fleet.messages()
    assert_exactly_once(ids(messages, "new"), set(range(60)))
    assert messages.count(header) == 2
    [stream] = fleet.streams()
    assert stream["gaps"] == []
