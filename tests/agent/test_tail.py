from __future__ import annotations

import os
from pathlib import Path

from agent.inputs.tail import FilePosition, FileTail


def drain(tail: FileTail, max_bytes: int = 1 << 16) -> list[bytes]:
    got: list[bytes] = []
    while (read := tail.poll(max_bytes)) is not None and (read.lines or read.events):
        got += read.lines
        if not read.lines:
            break
    return got


def test_reads_complete_lines_and_waits_for_the_rest(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"one\ntwo\r\nthr")
    tail = FileTail(str(log), None, 1024)
    assert drain(tail) == [b"one", b"two"]
    with log.open("ab") as f:
        f.write(b"ee\n")
    assert drain(tail) == [b"three"]


def test_rename_rotation_reads_the_old_file_to_its_end_first(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"1\n2\n")
    tail = FileTail(str(log), None, 1024)
    assert drain(tail) == [b"1", b"2"]
    with log.open("ab") as f:
        f.write(b"3\n")  # written just before the rotation, not read yet
    log.rename(tmp_path / "a.log.1")
    log.write_bytes(b"4\n")
    read = tail.poll(1 << 16)
    assert read is not None and read.lines == [b"3"]
    read = tail.poll(1 << 16)
    assert read is not None and read.lines == [b"4"] and "rotated" in read.events


def test_truncation_restarts_at_the_beginning(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"aaaa\nbbbb\n")
    tail = FileTail(str(log), None, 1024)
    drain(tail)
    log.write_bytes(b"c\n")  # truncate and write less than before
    read = tail.poll(1 << 16)
    assert read is not None and read.lines == [b"c"] and "truncated" in read.events


def test_an_overlong_line_is_cut_and_the_rest_skipped(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"short\n" + b"x" * 5000 + b"\nafter\n")
    tail = FileTail(str(log), None, 1000)
    lines: list[bytes] = []
    truncated: list[bytes] = []
    while (read := tail.poll(700)) is not None:
        truncated += [read.lines[i] for i in read.truncated]
        lines += read.lines
    assert lines == [b"short", b"x" * 1000, b"after"]
    assert truncated == [b"x" * 1000]


def test_a_line_longer_than_one_read_but_under_the_limit_is_whole(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"y" * 3000 + b"\n")
    assert drain(FileTail(str(log), None, 10_000), max_bytes=512) == [b"y" * 3000]


def test_resume_at_a_saved_position_in_the_same_file(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"1\n2\n")
    first = FileTail(str(log), None, 1024)
    read = first.poll(1 << 16)
    assert read is not None
    saved = FilePosition.from_json(read.position.to_json())
    first.close()
    with log.open("ab") as f:
        f.write(b"3\n")
    again = FileTail(str(log), saved, 1024)
    read = again.poll(1 << 16)
    assert read is not None and read.lines == [b"3"] and "resumed" in read.events


def test_a_reused_inode_with_other_content_is_read_from_the_start(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"old content 1\nold content 2\n")
    st = os.stat(log)
    # Same device and inode as the saved position, but other bytes at its head.
    saved = FilePosition(st.st_dev, st.st_ino, 14, "0" * 64, 14)
    read = FileTail(str(log), saved, 1024).poll(1 << 16)
    assert read is not None and read.lines == [b"old content 1", b"old content 2"]
    assert "opened" in read.events


def test_a_missing_file_is_not_an_error(tmp_path: Path) -> None:
    assert FileTail(str(tmp_path / "none.log"), None, 1024).poll(100) is None
