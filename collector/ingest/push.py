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
    CONTENT_TYPE,
    EXCHANGE_HEADER,
    WireError,
    decode_batch,
    decompress,
    parse_answered,
)
from collector.fleet.http import FLEET
from collector.http import TELEMETRY, ApiError, json_response, require
from collector.store import Store, StoreUnavailable

__all__ = ["MAX_BODY", "STORE", "handle_push"]

STORE = web.AppKey("store", Store)
MAX_BODY = web.AppKey("max_body", int)

_STATUS = {"too_large": 413, "bad_encoding": 415}


async def handle_push(request: web.Request) -> web.Response:
    arrived = now_us()  # as early as possible: the cross-check's T2
    principal = require(request, "agent")
    telemetry = request.app[TELEMETRY]
    if request.content_type != CONTENT_TYPE:
        telemetry.rejected("bad_content_type", request.content_type)
        raise ApiError(415, "bad_content_type", f"expected Content-Type {CONTENT_TYPE}")
    body = await request.read()
    received = now_us()
    try:
        raw = decompress(body, request.headers.get("Content-Encoding", ""), request.app[MAX_BODY])
        decoded = decode_batch(raw)
    except WireError as e:
        telemetry.rejected(e.kind, e.detail)
        raise ApiError(_STATUS.get(e.kind, 400), e.kind, e.detail) from None
    for index, reason in decoded.rejected:
        telemetry.rejected("bad_chunk", f"chunk {index}: {reason}")
    accepted = duplicates = 0
    if decoded.batch.chunks:
        try:
            result = await request.app[STORE].append(principal.tenant, decoded.batch, received)
        except StoreUnavailable as e:
            raise ApiError(503, "store_unavailable", str(e)) from None
        accepted, duplicates = result.accepted, result.duplicates
        telemetry.batch_stored(accepted, duplicates)
    answer = json_response({
        "accepted": accepted,
        "duplicates": duplicates,
        "rejected": [{"chunk": i, "reason": r} for i, r in decoded.rejected],
    })
    answered = parse_answered(request.headers.get(ANSWERED_HEADER))
    answer.headers[EXCHANGE_HEADER] = request.app[FLEET].observe(
        principal.tenant, decoded.batch, arrived, received, answered)
    return answer
