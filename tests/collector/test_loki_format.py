"""Loki's push format decoded: JSON, protobuf (bytes written by hand from push.proto's field
numbers, tests/support/loki.py, independently of the decoder's use of the protobuf library),
snappy, labels."""

from __future__ import annotations

import cramjam
import pytest
from support.loki import push_request

from collector.ingest.loki_format import LokiError, decode_json, decode_protobuf, parse_labels, unsnappy


def push_one(labels: str, *entries: tuple[int, int, str, dict[str, str]]) -> bytes:
    return push_request((labels, list(entries)))


def test_protobuf_written_by_hand_decodes_to_streams_entries_and_metadata() -> None:
    body = push_one('{job="varlogs", host="web-1"}', (1_764_900_000, 123_456_789, "first", {}),
                        (1_764_900_001, 5, "second ☃", {"trace_id": "abc"}))
    [stream] = decode_protobuf(body)
    assert stream.labels == {"job": "varlogs", "host": "web-1"}
    assert [(e.ns, e.line, e.metadata) for e in stream.entries] == [
        (1_764_900_000_123_456_789, "first", {}),
        (1_764_900_001_000_000_005, "second ☃", {"trace_id": "abc"})]


def test_json_with_and_without_structured_metadata() -> None:
    body = (b'{"streams": [{"stream": {"host": "web-2", "app": "x"}, "values": '
            b'[["1764900000000000001", "a"], ["1764900000000000002", "b", {"user": "u1"}]]}]}')
    [stream] = decode_json(body)
    assert stream.labels == {"host": "web-2", "app": "x"}
    assert [(e.ns, e.line, e.metadata) for e in stream.entries] == [
        (1_764_900_000_000_000_001, "a", {}), (1_764_900_000_000_000_002, "b", {"user": "u1"})]


@pytest.mark.parametrize(("body", "kind", "where"), [
    (b"{not json", "bad_json", ""),
    (b'{"streams": [{"stream": {"a": 1}, "values": []}]}', "bad_push", "streams.0.stream.a"),
    (b'{"streams": [{"stream": {}, "values": [["12:00", "x"]]}]}', "bad_push", "streams.0.values.0.0"),
    (b'{"streams": [{"stream": {}, "values": [["1", "x", "y", "z"]]}]}', "bad_push", "streams.0.values.0"),
])
def test_bad_json_names_where(body: bytes, kind: str, where: str) -> None:
    with pytest.raises(LokiError) as info:
        decode_json(body)
    assert info.value.kind == kind and where in str(info.value)


def test_bad_protobuf_and_bad_labels_are_refused() -> None:
    with pytest.raises(LokiError, match="not a Loki PushRequest"):
        decode_protobuf(b"\x0a\xff\xff\xff")
    with pytest.raises(LokiError, match=r"streams\.0\.labels"):
        decode_protobuf(push_one('job="no braces"'))


def test_labels_with_escapes_and_commas_inside_values() -> None:
    assert parse_labels('{a="1", b="x, y", c="say \\"hi\\"\\\\n", d.e="\\n"}') == {
        "a": "1", "b": "x, y", "c": 'say "hi"\\n', "d.e": "\n"}
    assert parse_labels("{}") == {}
    for bad in ('{a="1" b="2"}', '{a=1}', '{"a"="1"}', 'a="1"'):
        with pytest.raises(ValueError):
            parse_labels(bad)


def test_snappy_is_inflated_under_the_limit_and_refused_past_it() -> None:
    data = b"chronolog " * 1000
    packed = bytes(cramjam.snappy.compress_raw(data))
    assert unsnappy(packed, len(data)) == data
    with pytest.raises(LokiError) as info:
        unsnappy(packed, len(data) - 1)
    assert info.value.kind == "too_large"  # from the header: nothing was inflated
    with pytest.raises(LokiError) as info:
        unsnappy(b"\x05not snappy at all", 1000)
    assert info.value.kind == "bad_encoding"
