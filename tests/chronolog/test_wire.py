from __future__ import annotations

import dataclasses

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronolog.wire import (
    MAX_FIELDS_DEPTH,
    MAX_INSTANT,
    MAX_SEQ,
    Batch,
    Chunk,
    ClockView,
    WireError,
    beyond_limits,
    compress,
    declared_size,
    decode_batch,
    decompress,
    encode_batch,
    encode_columns,
    parse_answered,
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


# ---- limits (issue 16): every number is checked where it is decoded ----------------------

def _one_chunk(**changes: object) -> bytes:
    doc = orjson.loads(encode_batch(batch(chunk())))
    doc["chunks"][0].update(changes)
    return orjson.dumps(doc)


@pytest.mark.parametrize("seq, n, ok", [
    (MAX_SEQ - 2, 3, True),  # the last line is MAX_SEQ itself
    (MAX_SEQ - 1, 3, False),  # one past: its run end would not fit SQLite
    (2**63 - 1, 2, False),  # the batch that stopped sealing for good
    (MAX_SEQ + 1, 1, False),
])
def test_a_chunk_whose_last_seq_passes_the_limit_is_refused_naming_seq(seq: int, n: int, ok: bool) -> None:
    doc = orjson.loads(encode_batch(batch(chunk(n))))
    doc["chunks"][0]["seq"] = seq
    decoded = decode_batch(orjson.dumps(doc))
    assert (decoded.rejected == []) is ok
    if not ok:
        assert decoded.rejected[0][1].startswith("seq")


@pytest.mark.parametrize("field, value", [
    ("ts", [0, MAX_INSTANT + 1, 2]),
    ("ts", [2**63 - 1, 1, 2]),  # the line that blinded every query over its window
    ("read", MAX_INSTANT + 1),
    ("read", -1),
])
def test_an_instant_out_of_range_is_refused_naming_the_field(field: str, value: object) -> None:
    decoded = decode_batch(_one_chunk(**{field: value}))
    assert decoded.batch.chunks == []
    reason = decoded.rejected[0][1]
    assert reason.startswith(field) and "9999-12-29T23:59:59.999999Z" in reason


@pytest.mark.parametrize("ts, line", [
    ([0, 1, MAX_INSTANT + 1], 2), ([-1, 1, 2], 0), ([5, -3, MAX_INSTANT + 9], 1),
])
def test_the_first_instant_out_of_range_is_named_by_its_line(ts: list[int], line: int) -> None:
    # Checked as one list (the collector's hot path), but still said per line, in both versions.
    columns = dataclasses.replace(chunk(), ts=ts)
    for body in (_one_chunk(ts=ts), encode_columns("a", "h", "UTC", 1, [columns])):
        [(_, reason)] = decode_batch(body).rejected
        assert reason.startswith(f"ts: line {line}: {ts[line]} is outside the instants accepted"), reason


def test_the_limits_themselves_are_accepted() -> None:
    decoded = decode_batch(_one_chunk(ts=[0, MAX_INSTANT, 1], read=MAX_INSTANT))
    assert decoded.rejected == [] and decoded.batch.chunks[0].ts[1] == MAX_INSTANT


def test_the_latest_instant_renders_in_every_zone() -> None:
    import pytz

    from chronolog.timefmt import parse_rfc3339, to_rfc3339
    for zone in pytz.all_timezones:
        assert parse_rfc3339(to_rfc3339(MAX_INSTANT, zone)) == MAX_INSTANT, zone


def test_a_batch_sent_out_of_range_is_refused_naming_sent() -> None:
    doc = orjson.loads(encode_batch(batch(chunk())))
    doc["sent"] = MAX_INSTANT + 1
    with pytest.raises(WireError) as info:
        decode_batch(orjson.dumps(doc))
    assert info.value.kind == "bad_batch" and info.value.detail.startswith("sent")


def _nested(depth: int) -> bytes:
    return b'{"x":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


@pytest.mark.parametrize("depth, ok", [(MAX_FIELDS_DEPTH, True), (MAX_FIELDS_DEPTH + 1, False), (250, False)])
def test_fields_nested_too_deep_are_refused_naming_fields(depth: int, ok: bool) -> None:
    body = _one_chunk(fields=[]).replace(b'"fields":[]', b'"fields":[[0,' + _nested(depth) + b"]]")
    decoded = decode_batch(body)
    assert (decoded.rejected == []) is ok
    if ok:  # the store can encode what was accepted, wrapped as it wraps it
        assert orjson.dumps({"received": 1, "batch": decoded.batch})
    else:
        assert decoded.rejected[0][1].startswith("fields.0.1") and "deeper than" in decoded.rejected[0][1]


def test_fields_may_nest_through_lists_too() -> None:
    body = _one_chunk(fields=[]).replace(
        b'"fields":[]', b'"fields":[[0,{"a":' + b"[" * MAX_FIELDS_DEPTH + b"]" * MAX_FIELDS_DEPTH + b"}]]")
    assert "deeper than" in decode_batch(body).rejected[0][1]


@given(seq=st.integers(0, 2**64 - 1), n=st.integers(1, 4),
       ts=st.integers(-(2**63), 2**64 - 1), read=st.integers(-(2**63), 2**64 - 1))
def test_whatever_is_accepted_fits_the_store_and_renders(seq: int, n: int, ts: int, read: int) -> None:
    doc = orjson.loads(encode_batch(batch(chunk(n))))
    doc["chunks"][0].update(seq=seq, read=read, ts=[ts] * n)
    decoded = decode_batch(orjson.dumps(doc))
    for c in decoded.batch.chunks:
        assert c.seq >= 0 and c.seq + len(c) <= 2**63 - 1  # the run end is a SQLite INTEGER
        assert all(0 <= t <= MAX_INSTANT for t in [*c.ts, c.read])


# ---- the edges of compression, error texts and replay (issue 16, from mutation testing) -----

def test_a_bomb_is_never_inflated_past_the_limit_in_memory() -> None:
    import tracemalloc

    for encoding in ("zstd", "gzip"):
        bomb = compress(bytes(256 << 20), encoding)  # 256 MiB of zeros in a few hundred KiB
        tracemalloc.start()
        try:
            with pytest.raises(WireError) as info:
                decompress(bomb, encoding, 1 << 20)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert info.value.kind == "too_large"
        assert info.value.detail == "batch is larger than 1048576 bytes uncompressed"
        assert peak < 8 << 20, f"{encoding}: {peak} bytes held to refuse it"


@pytest.mark.parametrize("encoding", ["zstd", "gzip", "identity", "", " ZSTD ", "Gzip"])
def test_bodies_of_several_mebibytes_come_back_whole(encoding: str) -> None:
    import random

    body = random.Random(7).randbytes(3 << 20) + bytes(2 << 20)  # past one 1 MiB read, in parts
    wire = compress(body, encoding.strip().lower() or "identity")
    assert decompress(wire, encoding, len(body)) == body
    assert declared_size(wire, encoding) == len(body)
    with pytest.raises(WireError):
        decompress(wire, encoding, len(body) - 1)


@pytest.mark.parametrize("encoding", ["zstd", "gzip", "identity"])
def test_a_body_given_in_parts_comes_back_joined_and_declares_its_whole_size(encoding: str) -> None:
    import random

    parts = [b"CLG2", random.Random(7).randbytes(300_000), b"", bytes(1 << 20), b"last line"]
    wire = compress(parts, encoding)
    body = b"".join(parts)
    assert decompress(wire, encoding, len(body)) == body
    assert declared_size(wire, encoding) == len(body)  # what the collector admits a batch by


def test_gzip_is_gzip_framed() -> None:
    import gzip

    wire = compress(b"chronolog", "gzip")
    assert wire[:2] == b"\x1f\x8b" and gzip.decompress(wire) == b"chronolog"


@pytest.mark.parametrize("body, encoding, declared", [
    (compress(b"", "zstd"), "zstd", 0),
    (compress(b"", "gzip"), "gzip", 0),  # the smallest gzip body: 20 bytes
    (b"", "identity", 0),
    (b"x" * 30, "br", None),
    (b"not zstd at all", "zstd", None),
    (b"short", "gzip", None),
])
def test_what_a_body_declares(body: bytes, encoding: str, declared: int | None) -> None:
    assert declared_size(body, encoding) == declared


def test_a_zstd_frame_written_by_a_stream_declares_nothing() -> None:
    import zstandard

    streamed = zstandard.ZstdCompressor().compressobj()
    frame = streamed.compress(b"x" * 1000) + streamed.flush()
    assert declared_size(frame, "zstd") is None
    assert decompress(frame, "zstd", 1000) == b"x" * 1000


@pytest.mark.parametrize("level, checksum", [(1, False), (3, True), (19, False)])
@pytest.mark.parametrize("data", [
    b"", b"x" * 100_000, bytes(range(256)) * 3000, b"line \xe2\x9c\x93 seq=1\n" * 9000,
])
def test_a_zstd_frame_inflates_to_exactly_what_it_holds(data: bytes, level: int, checksum: bool) -> None:
    # Raw, RLE and compressed blocks, with and without a checksum: a single frame that declares
    # its size is inflated in one call (the agent's batches), and must come back whole.
    import zstandard

    frame = zstandard.ZstdCompressor(level=level, write_checksum=checksum).compress(data)
    assert declared_size(frame, "zstd") == len(data)
    assert decompress(frame, "zstd", len(data)) == data


def test_a_zstd_frame_of_many_small_blocks_is_inflated_whole_through_the_stream() -> None:
    # Blocks flushed every 10 bytes (a compressor fills 128 KiB): past the walk's bound of one
    # block per 4 KiB declared, the frame goes through the stream, and still decodes whole.
    import zstandard

    from chronolog.wire import _zstd_frame_end

    data = bytes(range(100)) * 100
    writer = zstandard.ZstdCompressor().compressobj(size=len(data))
    frame = b"".join(writer.compress(data[i:i + 10]) + writer.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
                     for i in range(0, len(data), 10)) + writer.flush()
    assert declared_size(frame, "zstd") == len(data)
    assert _zstd_frame_end(frame, 10**6) == len(frame)
    assert _zstd_frame_end(frame, 2 + (len(data) >> 12)) is None
    assert decompress(frame, "zstd", len(data)) == data


def test_zstd_bodies_other_than_one_declared_frame_decode_as_they_always_did() -> None:
    import zstandard

    frame = compress(b"a" * 1000, "zstd")
    assert decompress(frame + compress(b"b" * 10, "zstd"), "zstd", 2000) == b"a" * 1000 + b"b" * 10
    with pytest.raises(WireError) as info:
        decompress(frame + b"trailing", "zstd", 2000)
    assert info.value.kind == "bad_compression"
    # A frame that holds more than it declares is refused, never inflated past what it declared.
    params = zstandard.get_frame_parameters(frame)
    assert params.content_size == 1000 and frame[5:7] == (1000 - 256).to_bytes(2, "little")
    lying = frame[:5] + (900 - 256).to_bytes(2, "little") + frame[7:]
    assert declared_size(lying, "zstd") == 900
    with pytest.raises(WireError) as info:
        decompress(lying, "zstd", 900)
    assert info.value.kind == "bad_compression"


def test_each_refusal_says_what_and_why() -> None:
    with pytest.raises(WireError) as info:
        compress(b"x", "br")
    assert (info.value.kind, info.value.detail) == ("bad_encoding", "unsupported content encoding 'br'")
    assert str(info.value) == "bad_encoding: unsupported content encoding 'br'"
    with pytest.raises(WireError) as info:
        decompress(b"x", "br", 10)
    assert info.value.detail == "unsupported content encoding 'br'; expected one of zstd, gzip, identity"
    with pytest.raises(WireError) as info:
        decompress(b"garbage", "gzip", 10)
    assert info.value.kind == "bad_compression" and "header" in info.value.detail
    with pytest.raises(WireError) as info:
        decode_batch(b'{"v": 1,')
    assert info.value.kind == "bad_json" and "line 1" in info.value.detail


def test_a_chunk_with_several_errors_says_how_many_more() -> None:
    several = _one_chunk(seq=-1, read=-1, extra=1)
    assert decode_batch(several).rejected[0][1].endswith("(and 2 more)")
    two = _one_chunk(seq=-1, extra=1)
    assert decode_batch(two).rejected[0][1].endswith("(and 1 more)")
    single = _one_chunk(seq=-1)
    assert decode_batch(single).rejected[0][1] == "seq: Input should be greater than or equal to 0"


@pytest.mark.parametrize("fields", [{"b": None, "a": 1}, {"a": 1, "b": None}])
def test_depth_counts_every_branch_whatever_comes_first(fields: dict[str, object]) -> None:
    deep: object = {}
    for _ in range(MAX_FIELDS_DEPTH):
        deep = {"x": deep}
    fields = {k: deep if v is None else v for k, v in fields.items()}
    body = _one_chunk(fields=[[0, fields]])
    assert "deeper than" in decode_batch(body).rejected[0][1]


def test_what_the_store_wrote_reads_back_exactly_as_it_was() -> None:
    """WAL replay (decode_record) rebuilds batches with batch_from_trusted: every field, the
    sparse lists in place and the zone included."""
    from chronolog.wire import batch_from_trusted

    original = Batch("a1", "db-2", "America/New_York", 1_700_000_000_500_001,
                     [chunk(4), chunk(2, 0, "journald")])
    original.chunks[1].read = 1_700_000_000_000_009
    replayed = batch_from_trusted(orjson.loads(encode_batch(original)))
    assert encode_batch(replayed) == encode_batch(original)  # sparse pairs come back as lists
    assert (replayed.tz, replayed.host, replayed.sent) == ("America/New_York", "db-2", 1_700_000_000_500_001)
    part = slice_chunk(original.chunks[0], 1, 3)
    assert (part.read, part.clock, part.stream) == (original.chunks[0].read, CLOCK, original.chunks[0].stream)


@pytest.mark.parametrize("changes, why", [
    ({}, None),
    ({"seq": MAX_SEQ - 2}, None),  # three lines: the last is MAX_SEQ
    ({"seq": MAX_SEQ - 1}, "its seq 9223372036854775805 and 3 lines run past 9223372036854775806"),
    ({"seq": -1}, "its seq -1 and 3 lines run past 9223372036854775806"),
    ({"read": MAX_INSTANT}, None),
    ({"read": MAX_INSTANT + 1}, "its instant 253402128000000000 is outside 0 to 253402127999999999"),
    ({"ts": [0, -1, 2]}, "its instant -1 is outside 0 to 253402127999999999"),
])
def test_a_chunk_from_before_the_limits_is_told_from_one_within_them(changes: dict[str, object],
                                                                     why: str | None) -> None:
    c = chunk(3)
    for name, value in changes.items():
        setattr(c, name, value)
    assert beyond_limits(c) == why
    one = chunk(1)  # a single line: its first seq is its last
    one.seq = MAX_SEQ
    assert beyond_limits(one) is None


@pytest.mark.parametrize("text, expected", [
    ("0a1f 1795000000000000", ("0a1f", 1_795_000_000_000_000)),
    (f"{'f' * 32} {2**63 - 1}", ("f" * 32, 2**63 - 1)),
    (f"0a1f {2**63}", None),  # past what a store instant can be
    ("0a1f", None), ("0a1f 1 2", None), ("0A1F 1", None), ("0a1f -1", None), ("0a1f x1", None),
    ("", None), (None, None),
])
def test_an_answered_header_is_read_or_ignored(text: str | None, expected: tuple[str, int] | None) -> None:
    assert parse_answered(text) == expected
