"""``POST /v1/push``: one batch from one agent (docs/wire.md).

The reply comes only after the store has made the new lines durable. A bad envelope is a
typed 4xx; a bad chunk is listed in the reply while the valid chunks of the same batch are
stored. Every accepted push is also taken into the fleet registry, with the times the
collector's cross-check of the host clock needs (collector/fleet/crosscheck.py).
"""

from __future__ import annotations

from aiohttp import web

from chronolog.timefmt import now_us
from chronolog.wire import (
    ANSWERED_HEADER,
    BATCH_CONTENT_TYPE,
    CONTENT_TYPES,
    EXCHANGE_HEADER,
    DecodedBatch,
    WireError,
    declared_size,
    decode_batch,
    decompress,
    parse_answered,
)
from collector.admission import ADMISSION, INGEST_AMPLIFICATION
from collector.fleet.http import FLEET
from collector.http import MAX_BODY, TELEMETRY, ApiError, json_response, receive_body, require
from collector.store import Store, StoreUnavailable
from collector.telemetry import Telemetry

__all__ = ["STORE", "STORE_RETRY_AFTER", "handle_push"]

STORE = web.AppKey("store", Store)
# Seconds an agent waits after a 503 of the store (filesystem short of space, an erase under
# way, the cluster unreachable): none of these passes within a second.
STORE_RETRY_AFTER = "5"

_STATUS = {"too_large": 413, "bad_encoding": 415}


async def handle_push(request: web.Request) -> web.Response:
    arrived = now_us()  # as early as possible: the cross-check's T2
    principal = require(request, "agent")
    telemetry = request.app[TELEMETRY]
    if request.content_type not in CONTENT_TYPES:
        telemetry.rejected("bad_content_type", request.content_type)
        raise ApiError(415, "bad_content_type", f"expected Content-Type {BATCH_CONTENT_TYPE}")
    limit = request.app[MAX_BODY]
    # The memory a batch holds is reserved before it is taken: the body as it arrives, then,
    # before it is decompressed, what its compression declares it decodes to (issue 16).
    length = request.content_length
    with request.app[ADMISSION].ingest(limit if length is None else min(length, limit)) as held:
        body = await receive_body(request)
        received = now_us()
        encoding = request.headers.get("Content-Encoding", "")
        declared = declared_size(body, encoding)
        size = limit if declared is None else min(declared, limit)
        held.grow(size * INGEST_AMPLIFICATION)
        decoded = _decode(body, encoding, size, telemetry)
        del body  # held by nothing else while the store works
        return await _store(request, principal.tenant, decoded, arrived, received)


def _decode(body: bytes, encoding: str, size: int, telemetry: Telemetry) -> DecodedBatch:
    try:
        decoded = decode_batch(decompress(body, encoding, size))
    except WireError as e:
        telemetry.rejected(e.kind, e.detail)
        raise ApiError(_STATUS.get(e.kind, 400), e.kind, e.detail) from None
    for index, reason in decoded.rejected:
        telemetry.rejected("bad_chunk", f"chunk {index}: {reason}")
    return decoded


async def _store(request: web.Request, tenant: str, decoded: DecodedBatch, arrived: int,
                 received: int) -> web.Response:
    accepted = duplicates = 0
    if decoded.batch.chunks:
        try:
            result = await request.app[STORE].append(tenant, decoded.batch, received)
        except StoreUnavailable as e:
            raise ApiError(503, "store_unavailable", str(e), {"Retry-After": STORE_RETRY_AFTER}) from None
        accepted, duplicates = result.accepted, result.duplicates
        request.app[TELEMETRY].batch_stored(accepted, duplicates)
    answer = json_response({
        "accepted": accepted,
        "duplicates": duplicates,
        "rejected": [{"chunk": i, "reason": r} for i, r in decoded.rejected],
    })
    answered = parse_answered(request.headers.get(ANSWERED_HEADER))
    answer.headers[EXCHANGE_HEADER] = request.app[FLEET].observe(tenant, decoded.batch, arrived, received,
                                                                 answered)
    return answer
