"""Loki's push format, decoded (pure: bytes in, streams out; no HTTP, no store).

Two encodings of one request, as Loki defines them (grafana/loki ``pkg/push/push.proto`` and
its HTTP API, ``POST /loki/api/v1/push``):

- JSON: ``{"streams": [{"stream": {label: value}, "values": [["<unix ns>", "line"
  (, {structured metadata})], ...]}]}``;
- protobuf, snappy block-compressed: ``PushRequest{repeated StreamAdapter streams = 1}``,
  ``StreamAdapter{string labels = 1 ('{a="b", ...}'); repeated EntryAdapter entries = 2}``,
  ``EntryAdapter{google.protobuf.Timestamp timestamp = 1; string line = 2;
  repeated LabelPairAdapter structuredMetadata = 3}``, ``LabelPairAdapter{name = 1; value = 2}``.

The protobuf messages are described here, field by field, and built at run time by the
protobuf library in a private pool (no generated code, no protoc); snappy is cramjam's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import cramjam
import orjson
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2
from google.protobuf.message import DecodeError
from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

__all__ = ["LokiEntry", "LokiError", "LokiStream", "decode_json", "decode_protobuf", "parse_labels",
           "unsnappy"]


class LokiError(Exception):
    """A request that cannot be read; ``kind`` is the API error code, ``str()`` the detail."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class LokiEntry:
    ns: int  # the entry's timestamp, nanoseconds since the epoch, as sent
    line: str
    metadata: dict[str, str] = field(default_factory=dict)  # Loki's "structured metadata"


@dataclass(frozen=True, slots=True)
class LokiStream:
    labels: dict[str, str]
    entries: list[LokiEntry]


# ---- JSON -------------------------------------------------------------------------------------

class _JsonStream(BaseModel):
    model_config = ConfigDict(extra="ignore")  # Loki ignores what it does not know; so do we

    stream: dict[StrictStr, StrictStr]
    values: list[tuple[StrictStr, StrictStr] | tuple[StrictStr, StrictStr, dict[StrictStr, StrictStr]]]


class _JsonPush(BaseModel):
    model_config = ConfigDict(extra="ignore")

    streams: list[_JsonStream]


def decode_json(body: bytes) -> list[LokiStream]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise LokiError("bad_json", str(e)) from None
    try:
        push = _JsonPush.model_validate(document)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise LokiError("bad_push", f"{where}: {err['msg']}") from None
    streams = []
    for i, s in enumerate(push.streams):
        entries = []
        for j, value in enumerate(s.values):
            if not value[0].isdigit():
                raise LokiError("bad_push", f"streams.{i}.values.{j}.0: expected the time as a string of "
                                f"nanoseconds since the epoch, got {value[0][:40]!r}")
            entries.append(LokiEntry(int(value[0]), value[1], value[2] if len(value) == 3 else {}))
        streams.append(LokiStream(dict(s.stream), entries))
    return streams


# ---- protobuf ---------------------------------------------------------------------------------

def _message_classes() -> Any:
    """PushRequest and its parts, as push.proto numbers them, in a pool of our own."""
    proto = descriptor_pb2.FieldDescriptorProto
    optional, repeated = proto.LABEL_OPTIONAL, proto.LABEL_REPEATED

    def message(name: str, *fields: tuple[str, int, int, int, str]) -> descriptor_pb2.DescriptorProto:
        m = descriptor_pb2.DescriptorProto(name=name)
        for field_name, number, label, kind, type_name in fields:
            added = m.field.add(name=field_name, number=number, label=label, type=kind)
            if type_name:
                added.type_name = type_name
        return m

    file = descriptor_pb2.FileDescriptorProto(name="chronolog/loki_push.proto", package="logproto",
                                              syntax="proto3", dependency=["google/protobuf/timestamp.proto"])
    file.message_type.extend([
        message("PushRequest", ("streams", 1, repeated, proto.TYPE_MESSAGE, ".logproto.StreamAdapter"),
                ("format", 2, optional, proto.TYPE_STRING, "")),
        message("StreamAdapter", ("labels", 1, optional, proto.TYPE_STRING, ""),
                ("entries", 2, repeated, proto.TYPE_MESSAGE, ".logproto.EntryAdapter"),
                ("hash", 3, optional, proto.TYPE_UINT64, "")),
        message("EntryAdapter", ("timestamp", 1, optional, proto.TYPE_MESSAGE, ".google.protobuf.Timestamp"),
                ("line", 2, optional, proto.TYPE_STRING, ""),
                ("structuredMetadata", 3, repeated, proto.TYPE_MESSAGE, ".logproto.LabelPairAdapter"),
                ("parsed", 4, repeated, proto.TYPE_MESSAGE, ".logproto.LabelPairAdapter")),
        message("LabelPairAdapter", ("name", 1, optional, proto.TYPE_STRING, ""),
                ("value", 2, optional, proto.TYPE_STRING, "")),
    ])
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("logproto.PushRequest"))


PushRequest = _message_classes()


def decode_protobuf(body: bytes) -> list[LokiStream]:
    request = PushRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as e:
        raise LokiError("bad_protobuf", f"not a Loki PushRequest: {e}") from None
    streams = []
    for i, s in enumerate(request.streams):
        try:
            labels = parse_labels(s.labels)
        except ValueError as e:
            raise LokiError("bad_push", f"streams.{i}.labels: {e}") from None
        entries = [LokiEntry(e.timestamp.seconds * 1_000_000_000 + e.timestamp.nanos, e.line,
                             {p.name: p.value for p in e.structuredMetadata})
                   for e in s.entries]
        streams.append(LokiStream(labels, entries))
    return streams


def unsnappy(body: bytes, limit: int) -> bytes:
    """Snappy's block format (what Loki clients send), refused past ``limit`` bytes before it
    is inflated: the length it will have comes first, as a varint."""
    length = shift = 0
    for i, byte in enumerate(body[:10]):
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
        if i == 9:
            raise LokiError("bad_encoding", "not snappy: its length header is longer than 10 bytes")
    if length > limit:
        raise LokiError("too_large", f"{length} bytes once decompressed; the limit is {limit}")
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as e:
        raise LokiError("bad_encoding", f"not snappy-compressed: {e}") from None


# ---- labels -----------------------------------------------------------------------------------

_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_.]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_ESCAPES = {"n": "\n", "\\": "\\", '"': '"', "t": "\t"}


def parse_labels(text: str) -> dict[str, str]:
    """``{job="varlogs", host="web-1"}`` (a Prometheus label set, as Loki writes it) into a dict."""
    inner = text.strip()
    if not (inner.startswith("{") and inner.endswith("}")):
        raise ValueError(f"expected {{name=\"value\", ...}}, got {text[:80]!r}")
    inner = inner[1:-1].strip()
    labels: dict[str, str] = {}
    position = 0
    while position < len(inner):
        match = _LABEL.match(inner, position)
        if match is None:
            raise ValueError(f"cannot read a label at {inner[position:position + 40]!r}")
        value = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), match.group(2))
        labels[match.group(1)] = value
        position = match.end()
    return labels
