from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronolog.wire import (
    Batch,
    Chunk,
    ClockView,
    WireError,
    compress,
    decode_batch,
    decompress,
    encode_batch,
    slice_chunk,
)

CLOCK = ClockView(offset=-0.0012, bound=0.0049, synced=True, status="ok", source="audit")


def chunk(n: int = 3, seq: int = 10, stream: str = "file:/var/log/a.log") -> Chunk:
    return Chunk(
        stream, seq, 1_700_000_000_000_000, CLOCK,
        [f"line {i} ✓" for i in range(n)], [1_700_000_000_000_000 + i for i in range(n)],
        ["explicit"] * n, [None] * n,
        ts_flags=[(1, ["dst_ambiguous"])], line_flags=[(n - 1, ["truncated"])],
        fields=[(0, {"PRIORITY": "6"})],
    )


def batch(*chunks: Chunk) -> Batch:
    return Batch("a1f3", "web-1", "Asia/Tokyo", 1_700_000_000_500_000, list(chunks))


def test_round_trip_keeps_everything() -> None:
    original = batch(chunk(), chunk(2, 0, "journald"))
    decoded = decode_batch(encode_batch(original))
    assert decoded.rejected == []
    assert decoded.batch == original


@pytest.mark.parametrize("encoding", ["zstd", "gzip", "identity"])
def test_compression_round_trip(encoding: str) -> None:
    body = encode_batch(batch(chunk(100)))
    assert decompress(compress(body, encoding), encoding, len(body)) == body


@pytest.mark.parametrize("encoding", ["zstd", "gzip"])
def test_a_small_body_that_expands_past_the_limit_is_refused(encoding: str) -> None:
    bomb = compress(b"x" * (8 << 20), encoding)
    with pytest.raises(WireError) as info:
        decompress(bomb, encoding, 1 << 20)
    assert info.value.kind == "too_large"


def test_unknown_encoding_and_bad_compression_are_typed() -> None:
    with pytest.raises(WireError) as info:
        decompress(b"x", "br", 100)
    assert info.value.kind == "bad_encoding"
    with pytest.raises(WireError) as info:
        decompress(b"not zstd", "zstd", 100)
    assert info.value.kind == "bad_compression"


def test_bad_chunk_is_rejected_alone() -> None:
    doc = orjson.loads(encode_batch(batch(chunk(), chunk(2, 0, "journald"))))
    doc["chunks"][0]["ts"].pop()  # one ts short
    decoded = decode_batch(orjson.dumps(doc))
    assert [c.stream for c in decoded.batch.chunks] == ["journald"]
    assert decoded.rejected[0][0] == 0 and "ts has 2 entries for 3 lines" in decoded.rejected[0][1]


@pytest.mark.parametrize("mutate, reason", [
    (lambda c: c.update(src=["guessed"] * 3), "src"),
    (lambda c: c.update(seq=-1), "seq"),
    (lambda c: c.update(ts=["1", 2, 3]), "ts"),
    (lambda c: c.update(ts_flags=[[7, ["x"]]]), "ts_flags refers to line 7 of 3"),
    (lambda c: c.update(extra=1), "extra"),
    (lambda c: c.update(msg=[]), "msg"),
])
def test_each_kind_of_bad_chunk_is_named(mutate, reason: str) -> None:  # type: ignore[no-untyped-def]
    doc = orjson.loads(encode_batch(batch(chunk())))
    mutate(doc["chunks"][0])
    decoded = decode_batch(orjson.dumps(doc))
    assert decoded.batch.chunks == []
    assert reason in decoded.rejected[0][1]


@pytest.mark.parametrize("body, kind", [
    (b"{not json", "bad_json"),
    (b"[]", "bad_batch"),
    (orjson.dumps({"v": 2, "agent": "a", "host": "h", "tz": "UTC", "sent": 1, "chunks": [{}]}), "bad_batch"),
    (orjson.dumps({"v": 1, "agent": "a", "host": "h", "tz": "UTC", "sent": 1, "chunks": []}), "bad_batch"),
])
def test_bad_envelope_is_an_error(body: bytes, kind: str) -> None:
    with pytest.raises(WireError) as info:
        decode_batch(body)
    assert info.value.kind == kind


@given(st.integers(0, 5), st.integers(0, 5))
def test_slice_keeps_lines_and_reindexes_sparse_lists(a: int, b: int) -> None:
    start, end = min(a, b), max(a, b)
    whole = chunk(5)
    part = slice_chunk(whole, start, end)
    assert part.seq == whole.seq + start
    assert part.msg == whole.msg[start:end]
    for name in ("ts_flags", "line_flags", "fields"):
        expected = [(i - start, v) for i, v in getattr(whole, name) if start <= i < end]
        assert getattr(part, name) == expected


def test_a_clock_view_from_an_older_agent_without_status_or_source_is_still_valid() -> None:
    doc = orjson.loads(encode_batch(batch(chunk())))
    doc["chunks"][0]["clock"] = {"offset": None, "bound": None, "synced": None, "reason": "not measured yet"}
    decoded = decode_batch(orjson.dumps(doc))
    assert decoded.rejected == []
    assert decoded.batch.chunks[0].clock == ClockView(reason="not measured yet")


@pytest.mark.parametrize("clock, reason", [
    ({"status": "fine"}, "clock.status"),
    ({"source": "guess"}, "clock.source"),
    ({"bound": -0.1}, "clock.bound"),
    ({"drift": 1}, "clock.drift"),
])
def test_a_bad_clock_view_is_rejected_by_name(clock: dict[str, object], reason: str) -> None:
    doc = orjson.loads(encode_batch(batch(chunk())))
    doc["chunks"][0]["clock"].update(clock)
    decoded = decode_batch(orjson.dumps(doc))
    assert decoded.batch.chunks == [] and reason in decoded.rejected[0][1]
