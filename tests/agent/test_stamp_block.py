"""Stamping a block of lines as read gives exactly the chunk that stamping them one by one gives,
in any encoding, with bad bytes, and whatever the lines hold."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.inputs.tail import ReadBlock
from agent.stamp import Stamper
from chronolog.timefmt import parse_rfc3339
from chronolog.wire import ClockView, ColumnChunk, decode_batch, encode_columns

READ = parse_rfc3339("2026-11-27T12:00:00+09:00")
SAMPLES = ["2026-11-27T09:14:03.118+09:00 web-1 nginx: GET /", "2026-11-27 09:14:03,119 INFO x",
           "Nov 27 09:14:03 host sshd[1]: ok", "  at A.b(A.java:1)", "", "2099-01-01T00:00:00Z ahead",
           "27/Nov/2026:09:14:03 +0900 x", "09:14:05 only a time", "東京 2026-11-27 09:14:06 ログ"]
LINES = st.lists(st.one_of(
    st.sampled_from(SAMPLES),
    st.text(alphabet=st.characters(blacklist_characters="\n\r", blacklist_categories=["Cs"]), max_size=40)),
    min_size=1, max_size=40)


def lists_of(chunk: ColumnChunk) -> tuple[object, ...]:
    return (chunk.msg, list(chunk.ts), chunk.src, chunk.raw, chunk.ts_flags, chunk.line_flags, chunk.seq)


@settings(max_examples=150, deadline=None)
@given(LINES, st.sampled_from(["utf-8", "shift_jis", "utf-16-le", "latin-1"]))
def test_a_block_stamps_as_its_lines_one_by_one(lines: list[str], encoding: str) -> None:
    encoded = [line.encode(encoding, "replace") for line in lines]
    newline = "\n".encode(encoding)
    by_block = Stamper("s", "Asia/Tokyo", encoding, 5, future_tolerance=3600)
    one_by_one = Stamper("s", "Asia/Tokyo", encoding, 5, future_tolerance=3600)
    block = by_block.stamp(ReadBlock(newline.join(encoded), newline), READ, ClockView())
    listed = one_by_one.stamp(encoded, READ, ClockView())
    assert lists_of(block) == lists_of(listed)
    assert (by_block.future, by_block.sources, by_block.next_seq) == \
        (one_by_one.future, one_by_one.sources, one_by_one.next_seq)
    decoded = decode_batch(encode_columns("a", "h", "UTC", READ, [block])).batch.chunks[0]
    assert (decoded.msg, decoded.ts, decoded.src, decoded.raw) == \
        (block.msg, list(block.ts), block.src, block.raw)


def test_a_bad_byte_in_a_block_is_escaped_and_flagged_on_its_line() -> None:
    data = b"2026-11-27T09:14:03Z ok\nbad \xff byte\n2026-11-27T09:14:04Z ok"
    chunk = Stamper("s", "UTC", "utf-8", 0).stamp(ReadBlock(data), READ, ClockView())
    assert chunk.msg == ["2026-11-27T09:14:03Z ok", "bad \\xff byte", "2026-11-27T09:14:04Z ok"]
    assert chunk.line_flags == [(1, ["invalid_encoding"])]


@pytest.mark.parametrize("encoding", ["utf-8", "ascii"])
def test_a_utf8_block_is_shipped_as_it_was_read(encoding: str) -> None:
    data = b"2026-11-27T09:14:03Z a\n2026-11-27T09:14:03.5Z b"
    chunk = Stamper("s", "UTC", encoding, 0).stamp(ReadBlock(data), READ, ClockView())
    assert chunk.text is data
