"""Loki push requests as a Loki client sends them, built without chronolog's decoder.

The protobuf bytes are written field by field from Loki's published schema (grafana/loki
``pkg/push/push.proto``: PushRequest.streams = 1; StreamAdapter.labels = 1, .entries = 2;
EntryAdapter.timestamp = 1 (google.protobuf.Timestamp: seconds = 1, nanos = 2), .line = 2,
.structuredMetadata = 3; LabelPairAdapter.name = 1, .value = 2), independently of how the
collector uses the protobuf library; snappy is the block format Promtail sends.
"""

from __future__ import annotations

import urllib.error
import urllib.request

import cramjam

__all__ = ["post", "push_request", "snappy"]

Entry = tuple[int, int, str, dict[str, str]]  # seconds, nanos, line, structured metadata


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    """One field: a varint (wire type 0) or length-delimited bytes (wire type 2)."""
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def push_request(*streams: tuple[str, list[Entry]]) -> bytes:
    """A serialized PushRequest: (labels as Loki writes them, entries) per stream."""
    body = b""
    for labels, entries in streams:
        stream = _field(1, labels.encode())
        for seconds, nanos, line, metadata in entries:
            entry = _field(1, _field(1, seconds) + _field(2, nanos)) + _field(2, line.encode())
            for name, value in metadata.items():
                entry += _field(3, _field(1, name.encode()) + _field(2, value.encode()))
            stream += _field(2, entry)
        body += _field(1, stream)
    return body


def snappy(data: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(data))


def post(url: str, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """POST to ``url``/loki/api/v1/push; the status and the body of the answer."""
    request = urllib.request.Request(f"{url}/loki/api/v1/push", data=body, method="POST",
                                     headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
