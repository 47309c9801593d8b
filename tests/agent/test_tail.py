from __future__ import annotations

import gzip
import os
import re
import shutil
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.tail import FilePosition, FileTail, Multiline, split_lines


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
    read = tail.poll(1 << 16, now=0.0)
    assert read is not None and read.lines == [b"3"]
    read = tail.poll(1 << 16, now=0.0)  # the new file has data: the application moved over
    assert read is not None and read.lines == [b"4"] and "rotated" in read.events


def test_after_a_rename_a_late_line_in_the_old_file_is_still_read(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"1\n")
    tail = FileTail(str(log), None, 1024)
    assert drain(tail) == [b"1"]
    log.rename(tmp_path / "a.log.1")
    log.touch()  # logrotate's "create"; the application has not reopened yet
    assert tail.poll(1 << 16, now=0.0) is None
    with (tmp_path / "a.log.1").open("ab") as f:
        f.write(b"2\n")  # its last line, to the old file, before it reopens
    read = tail.poll(1 << 16, now=0.2)
    assert read is not None and read.lines == [b"2"]
    with log.open("ab") as f:
        f.write(b"3\n")
    read = tail.poll(1 << 16, now=0.3)
    assert read is not None and read.lines == [b"3"] and "rotated" in read.events


def test_files_rotated_away_quickly_are_each_read_in_turn(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"a1\n")
    tail = FileTail(str(log), None, 1024)
    assert drain(tail) == [b"a1"]
    with log.open("ab") as f:
        f.write(b"a2\n" * 3)
    lines: list[bytes] = []
    for generation in "bc":  # two rotations while the tail is busy with the first file
        log.rename(tmp_path / f"a.log.{generation}")
        log.write_bytes(f"{generation}1\n".encode())
        read = tail.poll(2, now=0.0)  # a small read: still in the old file; the new one is seen
        assert read is not None and read.lines == [b"a2"]
        lines += read.lines
    lines += read_all(tail)[0]
    assert lines == [b"a2", b"a2", b"a2", b"b1", b"c1"]


def test_a_file_that_held_the_path_only_between_two_polls_is_still_read(tmp_path: Path) -> None:
    """Two rotations within one poll (a loaded host): the middle file was never seen at the
    path, and logrotate may have renamed it to anything (here its '.backup' name)."""
    old = tmp_path / "a.log.old"
    old.write_bytes(b"from before the agent\n")
    os.utime(old, (1_000_000_000, 1_000_000_000))  # rotated long ago: not ours to read
    log = tmp_path / "a.log"
    log.write_bytes(b"a1\n")
    tail = FileTail(str(log), None, 1024)
    assert read_all(tail)[0] == [b"a1"]
    log.rename(tmp_path / "a.log.1")
    log.write_bytes(b"b1\nb2\n")  # the middle file: never polled while it held the path
    log.rename(tmp_path / "a.log-2026112715.backup")
    log.write_bytes(b"c1\n")
    with gzip.open(tmp_path / "a.log.1.gz", "wb") as gz:  # a compressed copy of the first file
        gz.write(b"a1\n")
    lines, events = read_all(tail)
    assert lines == [b"b1", b"b2", b"c1"]
    assert events.count("rotated") == 2
    assert f"recovered from {tmp_path / 'a.log-2026112715.backup'}" in events
    assert tail.recovered == [str(tmp_path / "a.log-2026112715.backup")]


def test_two_copytruncates_between_polls_recover_both_copies(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"a1\n")
    tail = FileTail(str(log), None, 1024)
    assert read_all(tail)[0] == [b"a1"]
    with log.open("ab") as f:
        f.write(b"a2\n")  # not read before the first copytruncate
    shutil.copyfile(log, tmp_path / "a.log.1")
    os.truncate(log, 0)
    with log.open("ab") as f:
        f.write(b"b1\nb2\n")  # only ever in the second copy
    (tmp_path / "a.log.1").rename(tmp_path / "a.log.2")
    shutil.copyfile(log, tmp_path / "a.log.1")
    os.truncate(log, 0)
    with log.open("ab") as f:
        f.write(b"c1\n")
    lines, events = read_all(tail)
    assert lines == [b"a2", b"b1", b"b2", b"c1"]
    assert f"recovered from {tmp_path / 'a.log.2'}" in events
    assert f"recovered from {tmp_path / 'a.log.1'}" in events


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


# -- identity, rotation and truncation --

def read_all(tail: FileTail, now: float = 100.0) -> tuple[list[bytes], list[str]]:
    lines: list[bytes] = []
    events: list[str] = []
    for step in range(50):
        read = tail.poll(1 << 16, now=now + step * 10)
        if read is None:
            break
        lines += read.lines
        events += read.events
    return lines, events


def saved_after(log: Path, n_lines: int) -> FilePosition:
    """The position a tail reports after reading the first ``n_lines`` lines of ``log``."""
    tail = FileTail(str(log), None, 1024)
    got: list[bytes] = []
    position = None
    while len(got) < n_lines:
        read = tail.poll(4)  # small reads so we can stop at a line boundary
        assert read is not None
        got += read.lines
        position = read.position
    tail.close()
    assert len(got) == n_lines and position is not None
    return position


def numbered(first: int, last: int, header: str = "") -> bytes:
    return header.encode() + b"".join(f"line {i}\n".encode() for i in range(first, last))


def test_a_file_renamed_while_stopped_is_finished_from_the_saved_offset(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(numbered(0, 3))
    saved = saved_after(log, 3)
    with log.open("ab") as f:
        f.write(numbered(3, 5))  # written after the last ack, before the rotation
    log.rename(tmp_path / "app.log.1")
    log.write_bytes(numbered(5, 7))
    lines, events = read_all(FileTail(str(log), saved, 1024))
    assert lines == [b"line 3", b"line 4", b"line 5", b"line 6"]
    assert "opened" not in events  # the numbering continues: nothing was lost


def test_a_file_rotated_and_gzipped_while_stopped_is_finished_from_the_archive(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(numbered(0, 300))
    saved = saved_after(log, 300)
    with log.open("ab") as f:
        f.write(numbered(300, 302))
    with log.open("rb") as src, gzip.open(tmp_path / "app.log.1.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    log.unlink()
    log.write_bytes(numbered(302, 303))
    lines, _ = read_all(FileTail(str(log), saved, 1024))
    assert lines == [b"line 300", b"line 301", b"line 302"]


def test_copytruncate_recovers_the_lines_between_the_last_read_and_the_truncate(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(numbered(0, 3))
    tail = FileTail(str(log), None, 1024)
    assert read_all(tail)[0] == [b"line 0", b"line 1", b"line 2"]
    with log.open("ab") as f:
        f.write(numbered(3, 6))  # not read yet when logrotate copies and truncates
    shutil.copyfile(log, tmp_path / "app.log.1")
    with log.open("r+b") as f:
        f.truncate(0)
    with log.open("ab") as f:
        f.write(numbered(6, 8))
    lines, events = read_all(tail)
    assert lines == [b"line 3", b"line 4", b"line 5", b"line 6", b"line 7"]
    assert "truncated" in events and any(e.startswith("recovered from") for e in events)


def test_a_truncated_file_rewritten_past_the_old_offset_is_noticed(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"aaaa\n")
    tail = FileTail(str(log), None, 1024)
    assert read_all(tail)[0] == [b"aaaa"]
    log.write_bytes(b"bbbb\ncccc\n")  # truncated, then more than before written
    lines, events = read_all(tail)
    assert lines == [b"bbbb", b"cccc"] and "truncated" in events


def test_a_reused_inode_with_the_same_header_is_read_from_the_start(tmp_path: Path) -> None:
    header = "# app log v1: a banner longer than the head every file starts with " + "=" * 1100 + "\n"
    old = tmp_path / "old.log"
    old.write_bytes(numbered(0, 5, header))
    saved = saved_after(old, 6)
    log = tmp_path / "app.log"
    log.write_bytes(numbered(100, 110, header))  # same header, other lines, same length ahead
    st_ = os.stat(log)
    reused = FilePosition(st_.st_dev, st_.st_ino, saved.head_len, saved.head, saved.offset, saved.mark)
    assert reused.head == FileTail(str(log), None, 1024).poll(1 << 16).position.head  # type: ignore[union-attr]
    lines, events = read_all(FileTail(str(log), reused, 1024))
    assert lines[0] == header.encode()[:1024] and len(lines) == 11 and "opened" in events


def test_a_gzip_file_is_read_decompressed_and_resumed_by_decompressed_offset(tmp_path: Path) -> None:
    archive = tmp_path / "old.log.gz"
    with gzip.open(archive, "wb") as f:
        f.write(numbered(0, 2000))
    tail = FileTail(str(archive), None, 1024)
    read = tail.poll(10_000)
    assert read is not None and read.lines[0] == b"line 0"
    saved = read.position
    done = len(read.lines)
    rest, _ = read_all(FileTail(str(archive), saved, 1024))
    assert rest[0] == f"line {done}".encode() and rest[-1] == b"line 1999" and done + len(rest) == 2000


def test_multiline_records_are_joined_and_the_last_one_held_until_the_time_out(tmp_path: Path) -> None:
    log = tmp_path / "java.log"
    log.write_bytes(b"2026-11-27 ERROR boom\n  at A.b(A.java:1)\n  at C.d(C.java:2)\n"
                    b"2026-11-27 INFO next\n  detail\n")
    ml = Multiline(re.compile(rb"\d{4}-\d\d-\d\d "), timeout=2.0)
    tail = FileTail(str(log), None, 1 << 20, multiline=ml)
    read = tail.poll(1 << 16, now=0.0)
    assert read is not None
    assert read.lines == [b"2026-11-27 ERROR boom\n  at A.b(A.java:1)\n  at C.d(C.java:2)"]
    held_at = read.position  # a restart here re-reads the held record
    assert tail.poll(1 << 16, now=1.0) is None
    read = tail.poll(1 << 16, now=2.5)
    assert read is not None and read.lines == [b"2026-11-27 INFO next\n  detail"]
    restarted = FileTail(str(log), held_at, 1 << 20, multiline=ml)
    first = restarted.poll(1 << 16, now=10.0)
    assert first is not None and first.lines == [] and first.events == ["resumed"]
    again = restarted.poll(1 << 16, now=12.0)
    assert again is not None and again.lines == [b"2026-11-27 INFO next\n  detail"]


def test_utf16_lines_are_split_on_the_encoded_newline(tmp_path: Path) -> None:
    log = tmp_path / "w.log"
    log.write_bytes("一\n二\n".encode("utf-16-le"))
    tail = FileTail(str(log), None, 1024, newline="\n".encode("utf-16-le"))
    assert [x.decode("utf-16-le") for x in read_all(tail)[0]] == ["一", "二"]


@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30),
       st.integers(1, 64))
def test_split_lines_returns_every_complete_line_in_order(lines: list[bytes], cut: int) -> None:
    data = b"".join(x + b"\n" for x in lines) + b"partial"
    split = split_lines(data, 1 << 20, False, at_end=False, with_starts=True)
    expected = [x[:-1] if x.endswith(b"\r") else x for x in lines]
    assert split.lines == expected and split.consumed == len(data) - len(b"partial")
    assert split.starts is not None
    assert all(data[s:].startswith(x) for s, x in zip(split.starts, lines, strict=True))
    short = split_lines(data, cut, False, at_end=True)
    assert all(len(x) <= cut for x in short.lines)


def test_an_archive_still_being_written_is_waited_for_not_cut_short(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(numbered(0, 2))
    tail = FileTail(str(log), None, 1024)
    assert read_all(tail)[0] == [b"line 0", b"line 1"]
    with log.open("ab") as f:
        f.write(numbered(2, 400))
    whole = gzip.compress(log.read_bytes())
    archive = tmp_path / "app.log.1.gz"
    archive.write_bytes(whole[: len(whole) // 2])  # gzip is still writing the copy
    log.write_bytes(b"")  # truncated
    lines: list[bytes] = []
    for step in range(5):
        read = tail.poll(1 << 16, now=1.0 + step * 0.1)
        lines += read.lines if read is not None else []
    archive.write_bytes(whole)  # gzip finished
    lines += read_all(tail, now=3.0)[0]
    assert lines == [f"line {i}".encode() for i in range(2, 400)]
