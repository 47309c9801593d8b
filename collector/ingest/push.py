"""``POST /v1/push``: one batch from one agent (docs/wire.md).

The reply comes only after the store has made the new lines durable. A bad envelope is a
typed 4xx; a bad chunk is listed in the reply while the valid chunks of the same batch are
stored.
"""

from __future__ import annotations

from aiohttp import web

from chronolog.timefmt import now_us
from chronolog.wire import BATCH_CONTENT_TYPE, CONTENT_TYPES, WireError, decode_batch, decompress
from collector.http import TELEMETRY, ApiError, json_response, require
from collector.store import Store, StoreUnavailable

__all__ = ["MAX_BODY", "STORE", "handle_push"]

STORE = web.AppKey("store", Store)
MAX_BODY = web.AppKey("max_body", int)

_STATUS = {"too_large": 413, "bad_encoding": 415}


async def handle_push(request: web.Request) -> web.Response:
    principal = require(request, "agent")
    telemetry = request.app[TELEMETRY]
    if request.content_type not in CONTENT_TYPES:
        telemetry.rejected("bad_content_type", request.content_type)
        raise ApiError(415, "bad_content_type", f"expected Content-Type {BATCH_CONTENT_TYPE}")
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
    return json_response({
        "accepted": accepted,
        "duplicates": duplicates,
        "rejected": [{"chunk": i, "reason": r} for i, r in decoded.rejected],
    })
