"""Version 2 of the batch format (columns): what the agent sends decodes to the same lists as
version 1, under the same checks, and a body that does not hold together is refused by name."""

from __future__ import annotations

from array import array

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronolog.wire import (
    COLUMNS_MAGIC,
    MAX_SEQ,
    Batch,
    Chunk,
    ClockView,
    ColumnChunk,
    WireError,
    decode_batch,
    encode_batch,
    encode_columns,
)

CLOCK = ClockView(offset=-0.0012, bound=0.0049, synced=True, status="ok", source="audit")
T = 1_795_000_000_000_000
ENVELOPE = ("a1f3", "web-1", "Asia/Tokyo", T + 500_000)


def listed(n: int = 4, stream: str = "file:/var/log/a.log", seq: int = 10) -> Chunk:
    msg = [f"2026-11-27T09:14:0{i}Z line ✓ {i}" for i in range(n)]
    msg[1] = "no time\n  at A.b(A.java:1)"  # a multiline record
    raw: list[str | None] = [m[:20] for m in msg]
    raw[1] = None
    raw[2] = "not in the line"
    return Chunk(stream, seq, T, CLOCK, msg, [T + i for i in range(n)],
                 ["explicit", "read_time", "explicit", "explicit"][:n] + ["explicit"] * (n - 4), raw,
                 ts_flags=[(0, ["dst_ambiguous", "future"])], line_flags=[(n - 1, ["truncated"])],
                 fields=[(2, {"PRIORITY": "6", "nested": {"a": [1, 2]}})])


def test_columns_decode_to_the_lists_version_1_carries() -> None:
    chunks = [listed(), listed(5, "journald", 0)]
    decoded = decode_batch(encode_columns(*ENVELOPE, chunks))
    assert decoded.rejected == []
    assert decoded.batch == Batch(*ENVELOPE, chunks)
    assert decode_batch(encode_batch(Batch(*ENVELOPE, chunks))).batch == decoded.batch


@given(st.lists(st.tuples(st.text(max_size=30), st.sampled_from(["explicit", "read_time", "inferred_date"]),
                          st.integers(-1, 31), st.integers(0, 31)), min_size=1, max_size=20))
def test_any_lines_and_timestamp_texts_come_back_as_they_were(rows: list[tuple[str, str, int, int]]) -> None:
    msg = [m for m, _, _, _ in rows]
    raw = [None if a < 0 else m[a:a + b] if a + b <= len(m) else "elsewhere" for m, _, a, b in rows]
    original = Chunk("s", 0, T, CLOCK, msg, [T] * len(rows), [s for _, s, _, _ in rows], raw)
    decoded = decode_batch(encode_columns(*ENVELOPE, [ColumnChunk.from_chunk(original)]))
    assert decoded.batch.chunks == [original]


def test_a_column_chunk_shows_its_lists() -> None:
    columns = ColumnChunk.from_chunk(listed())
    assert (columns.msg, columns.src, columns.raw) == (listed().msg, listed().src, listed().raw)
    assert len(columns) == 4 and columns.nbytes > len(columns.text)


def body_with(mutate: object, chunks: list[Chunk] | None = None) -> bytes:
    """A version-2 body whose first chunk's header entry is changed by ``mutate``."""
    body = encode_columns(*ENVELOPE, chunks or [listed(), listed(5, "journald", 0)])
    size = int.from_bytes(body[4:8], "little")
    header = orjson.loads(body[8:8 + size])
    mutate(header["chunks"][0])  # type: ignore[operator]
    new = orjson.dumps(header)
    return COLUMNS_MAGIC + len(new).to_bytes(4, "little") + new + body[8 + size:]


@pytest.mark.parametrize("mutate, reason", [
    (lambda c: c.update(kinds=[[1, "explicit", 0, 20]]), "kinds: the runs must start at line 0"),
    (lambda c: c.update(kinds=[[0, "explicit", 5, 2]]), "kinds: a timestamp's place"),
    (lambda c: c.update(kinds=[[0, "guessed", -1, -1]]), "src"),
    (lambda c: c.update(raw_texts=[[9, "x"]]), "raw_texts: refers to a line outside"),
    (lambda c: c.update(seq=MAX_SEQ), "seq"),
    (lambda c: c.update(ts_flags=[[7, ["x"]]]), "ts_flags refers to line 7 of 4"),
    (lambda c: c.update(extra=1), "extra"),
])
def test_a_bad_chunk_is_rejected_alone_and_named(mutate: object, reason: str) -> None:
    decoded = decode_batch(body_with(mutate))
    assert [c.stream for c in decoded.batch.chunks] == ["journald"]
    assert decoded.rejected[0][0] == 0 and reason in decoded.rejected[0][1]


def test_text_that_is_not_utf8_or_not_as_many_lines_is_rejected_alone() -> None:
    bad = ColumnChunk.from_chunk(Chunk("s", 0, T, CLOCK, ["a", "b"], [T, T], ["read_time"] * 2, [None] * 2))
    bad.text = b"a\n\xff"
    short = ColumnChunk.from_chunk(Chunk("t", 0, T, CLOCK, ["a", "b"], [T, T], ["read_time"] * 2, [None] * 2))
    short.text = b"a b"
    cut = ColumnChunk.from_chunk(listed())
    assert cut.lengths is not None
    cut.lengths = array("I", [1, 1, 1, 1])
    decoded = decode_batch(encode_columns(*ENVELOPE, [bad, short, cut, listed(4, "ok")]))
    assert [c.stream for c in decoded.batch.chunks] == ["ok"]
    reasons = dict(decoded.rejected)
    assert "text: not UTF-8" in reasons[0] and "text: 1 lines for n = 2" in reasons[1]
    assert "lengths: 4 bytes in 4 lines" in reasons[2]


@pytest.mark.parametrize("cut, kind", [
    (lambda b: b[:-1], "bad_batch"),  # a section short
    (lambda b: b + b"x", "bad_batch"),  # bytes after the last section
    (lambda b: b[:8] + b"x" + b[9:], "bad_json"),
    (lambda b: b[:4] + (1 << 30).to_bytes(4, "little") + b[8:], "bad_json"),
])
def test_a_body_that_does_not_hold_together_is_refused(cut: object, kind: str) -> None:
    with pytest.raises(WireError) as info:
        decode_batch(cut(encode_columns(*ENVELOPE, [listed()])))  # type: ignore[operator]
    assert info.value.kind == kind


def test_sections_longer_than_the_body_are_refused_before_anything_is_allocated() -> None:
    body = body_with(lambda c: c.update(n=1 << 28))
    with pytest.raises(WireError) as info:
        decode_batch(body)
    assert info.value.kind == "bad_batch" and "run past the end" in info.value.detail


@pytest.mark.parametrize("cut, kind, detail", [
    (lambda b: b + b"xy", "bad_batch", "2 bytes after the last chunk"),
    (lambda b: b[:8] + b"x" + b[9:], "bad_json", "header: "),
    (lambda b: header(b, b"[]"), "bad_batch", "header: expected an object with chunks"),
    (lambda b: header(b, b'{"chunks": {}}'), "bad_batch", "header: expected an object with chunks"),
    (lambda b: header(b, b'{"chunks": [{"n": "four"}]}'), "bad_batch", "chunk sections: n"),
    (lambda b: b[:-1], "bad_batch", "chunk sections run past the end of the body"),
], ids=["trailing bytes", "header not JSON", "header a list", "chunks not a list", "sections unreadable",
        "a section short"])
def test_what_does_not_hold_together_is_named(cut: object, kind: str, detail: str) -> None:
    with pytest.raises(WireError) as info:
        decode_batch(cut(encode_columns(*ENVELOPE, [listed()])))  # type: ignore[operator]
    assert info.value.kind == kind and info.value.detail.startswith(detail), info.value.detail


def header(body: bytes, new: bytes) -> bytes:
    """``body`` with its header replaced by ``new`` (the sections kept)."""
    size = int.from_bytes(body[4:8], "little")
    return COLUMNS_MAGIC + len(new).to_bytes(4, "little") + new + body[8 + size:]


RUNS = "kinds: the runs must start at line 0 and go forward within the chunk"
PLACE = "kinds: a timestamp's place is start <= end, or -1 for none"


@pytest.mark.parametrize("mutate, reason", [
    (lambda c: c.update(kinds=[[0, "explicit", 0, 20], [0, "explicit", 0, 20]]), RUNS),  # a run twice
    (lambda c: c.update(kinds=[[0, "explicit", 0, 20], [4, "explicit", 0, 20]]), RUNS),  # at line n
    (lambda c: c.update(kinds=[[0, "explicit", -2, 0]]), PLACE),
    (lambda c: c.update(kinds=[[0, "explicit", 0, -1]]), PLACE),  # starts at 0, ends before it
    (lambda c: c.update(raw_texts=[[4, "x"]]), "raw_texts: refers to a line outside the chunk"),  # line n
])
def test_a_chunk_one_past_each_limit_is_rejected_with_exactly_why(mutate: object, reason: str) -> None:
    decoded = decode_batch(body_with(mutate))
    assert decoded.rejected == [(0, reason)] and [c.stream for c in decoded.batch.chunks] == ["journald"]


def test_a_chunk_at_each_limit_is_taken() -> None:
    def edges(c: dict[str, object]) -> None:
        c.update(kinds=[[0, "explicit", -1, -1], [3, "explicit", 0, 0]], raw_texts=[[3, "x"]])
    decoded = decode_batch(body_with(edges))
    assert decoded.rejected == []
    assert decoded.batch.chunks[0].raw == [None, None, None, "x"]
