"""``POST /loki/api/v1/push``: Loki's push API beside chronolog's own (push.py), into the same
store, so that hosts already running Promtail, Grafana Alloy, Fluent Bit or Vector can send
to chronolog (docs/loki.md).

The tenant is the credential's: an agent token, sent as ``Authorization: Bearer`` or as the
password of HTTP Basic (what most Loki clients offer); ``X-Scope-OrgID``, Loki's tenant
header, must be absent or name that same tenant. Each Loki stream becomes a chronolog stream:
its ``host`` label (else ``hostname``, else ``instance``) is the host, the other labels name
the stream (``loki:{job="varlogs"}``), the entry's nanosecond time is the event time with
``ts_source`` ``explicit`` (its text kept as ``ts_raw``), structured metadata goes to the
line's fields. The reply, 204, comes once the lines are durable.

What cannot be de-duplicated: a Loki push carries no sequence numbers, so the collector
numbers the lines of each stream as they arrive. A batch a client sends again (after a
time-out or a 5xx it could not tell from a loss) is stored again.
"""

from __future__ import annotations

from collections import defaultdict

from aiohttp import web

from chronolog.timefmt import now_us
from chronolog.wire import (
    MAX_INSTANT,
    Batch,
    Chunk,
    ClockView,
    WireError,
    decode_batch,
    decompress,
    encode_batch,
)
from collector.admission import ADMISSION, INGEST_AMPLIFICATION
from collector.http import MAX_BODY, TELEMETRY, ApiError, receive_body, require
from collector.ingest.loki_format import LokiError, LokiStream, decode_json, decode_protobuf, unsnappy
from collector.ingest.push import STORE, STORE_RETRY_AFTER
from collector.store import Store, StoreUnavailable

__all__ = ["LOKI_NUMBERS", "LokiNumbers", "handle_loki_push", "to_batches"]

HOST_LABELS = ("host", "hostname", "instance")
PROTOBUF = "application/x-protobuf"
# What the collector knows of a Loki client's clock: nothing.
LOKI_CLOCK = ClockView(reason="sent through the Loki push API: the sender's clock is not known",
                       status="unknown")
_STATUS = {"too_large": 413, "bad_encoding": 415}


class LokiNumbers:
    """Sequence numbers for lines that come without them: per (tenant, agent, stream), in the
    order they arrive, after the highest the store already holds (looked up once per tenant,
    so a restart continues where it was). A write the store refuses leaves a gap."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._next: dict[str, dict[tuple[str, str], int]] = {}

    def take(self, tenant: str, agent: str, stream: str, count: int) -> int:
        known = self._next.get(tenant)
        if known is None:
            held = self._store.streams(tenant)
            known = self._next[tenant] = {(r.agent, r.stream): r.last_seq + 1 for r in held}
        first = known.get((agent, stream), 0)
        known[(agent, stream)] = first + count
        return first


LOKI_NUMBERS = web.AppKey("loki_numbers", LokiNumbers)


def _host_and_stream(labels: dict[str, str]) -> tuple[str, str]:
    host_label = next((name for name in HOST_LABELS if labels.get(name)), None)
    host = labels[host_label] if host_label else "unknown"
    rest = sorted((k, v) for k, v in labels.items() if k != host_label)
    shown = ", ".join(f'{k}="{v}"'.replace("\n", "\\n") for k, v in rest)
    return host, f"loki:{{{shown}}}"


def to_batches(streams: list[LokiStream], tenant: str, numbers: LokiNumbers, received: int) -> list[Batch]:
    """One batch per host, one chunk per stream, every line numbered, every time checked."""
    chunks: dict[str, list[Chunk]] = defaultdict(list)
    for s in streams:
        if not s.entries:
            continue
        host, name = _host_and_stream(s.labels)
        chunk = Chunk(name, numbers.take(tenant, f"loki:{host}", name, len(s.entries)), received, LOKI_CLOCK,
                      [], [], [], [])
        for i, entry in enumerate(s.entries):
            us = entry.ns // 1000
            chunk.msg.append(entry.line)
            chunk.raw.append(str(entry.ns))
            if 0 <= us <= MAX_INSTANT:
                chunk.ts.append(us)
                chunk.src.append("explicit")
            else:  # kept, at the time it arrived, and said so
                chunk.ts.append(received)
                chunk.src.append("read_time")
                chunk.ts_flags.append((i, ["loki_time_out_of_range"]))
            if entry.metadata:
                chunk.fields.append((i, {"structured_metadata": entry.metadata}))
        chunks[host].append(chunk)
    return [Batch(f"loki:{host}", host, "UTC", received, host_chunks) for host, host_chunks in chunks.items()]


def _streams(request: web.Request, body: bytes) -> list[LokiStream]:
    limit = request.app[MAX_BODY]
    if request.content_type == PROTOBUF:
        return decode_protobuf(unsnappy(body, limit))
    if request.content_type == "application/json":
        try:
            raw = decompress(body, request.headers.get("Content-Encoding", ""), limit)
        except WireError as e:
            raise LokiError(e.kind, e.detail) from None
        return decode_json(raw)
    raise LokiError("bad_content_type", f"expected Content-Type {PROTOBUF} (snappy) or application/json")


async def handle_loki_push(request: web.Request) -> web.Response:
    principal = require(request, "agent", basic=True)  # most Loki clients offer only Basic
    telemetry = request.app[TELEMETRY]
    claimed = request.headers.get("X-Scope-OrgID")
    if claimed is not None and claimed != principal.tenant:
        telemetry.rejected("tenant_mismatch", "X-Scope-OrgID")
        raise ApiError(403, "forbidden", "X-Scope-OrgID names another tenant than this credential's; "
                       "leave it out (the credential decides the tenant)")
    limit = request.app[MAX_BODY]
    length = request.content_length
    # Held like a chronolog push (collector.admission): the body as it arrives, then what its
    # lines cost decoded. Loki's compressions declare no size, so the body's is the estimate.
    with request.app[ADMISSION].ingest(limit if length is None else min(length, limit)) as held:
        body = await receive_body(request)
        received = now_us()
        held.grow(len(body) * INGEST_AMPLIFICATION)
        return await _store(request, principal.tenant, body, received)


async def _store(request: web.Request, tenant: str, body: bytes, received: int) -> web.Response:
    telemetry = request.app[TELEMETRY]
    try:
        streams = _streams(request, body)
    except LokiError as e:
        telemetry.rejected(e.kind, str(e))
        status = 415 if e.kind == "bad_content_type" else _STATUS.get(e.kind, 400)
        raise ApiError(status, e.kind, str(e)) from None
    checked = []
    for batch in to_batches(streams, tenant, request.app[LOKI_NUMBERS], received):
        # Held to the limits of every batch, checked where chronolog's wire format is decoded;
        # all of them before anything is stored, so a refused request stores nothing.
        try:
            decoded = decode_batch(encode_batch(batch))
        except WireError as e:
            telemetry.rejected(e.kind, e.detail)
            raise ApiError(400, "bad_push", f"host {batch.host[:80]!r}: {e.detail}") from None
        if decoded.rejected:
            index, reason = decoded.rejected[0]
            telemetry.rejected("bad_chunk", f"loki stream {batch.chunks[index].stream}: {reason}")
            raise ApiError(400, "bad_push", f"stream {batch.chunks[index].stream}: {reason}")
        checked.append(decoded.batch)
    for batch in checked:
        try:
            result = await request.app[STORE].append(tenant, batch, received)
        except StoreUnavailable as e:
            raise ApiError(503, "store_unavailable", str(e), {"Retry-After": STORE_RETRY_AFTER}) from None
        telemetry.batch_stored(result.accepted, result.duplicates)
    return web.Response(status=204)
