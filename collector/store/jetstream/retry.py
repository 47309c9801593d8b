"""Calls to the cluster retried through a leader election or a server's restart, until a
deadline; then `StoreUnavailable` (the agent is told to retry later). Answers that are final
(absent, refused, a lost compare-and-set) are raised at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats.errors
import nats.js.errors

from collector.store import StoreUnavailable

__all__ = ["retrying", "transient"]

T = TypeVar("T")

_TRANSIENT = (nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.errors.ConnectionClosedError,
              nats.js.errors.APIError, nats.js.errors.NoStreamResponseError, asyncio.TimeoutError,
              nats.errors.StaleConnectionError, nats.errors.ConnectionReconnectingError,
              nats.errors.UnexpectedEOF, nats.errors.FlushTimeoutError)
_FINAL = (nats.js.errors.NotFoundError, nats.js.errors.BadRequestError, nats.js.errors.KeyValueError)
# A refusal that a moment cures: "no suitable peers for placement" (10005) while a server of
# the cluster is still joining it (a start, a restart), so that a stream or bucket of R replicas
# cannot be placed yet.
_TRANSIENT_CODES = {10005}


def transient(e: BaseException) -> bool:
    if getattr(e, "err_code", None) in _TRANSIENT_CODES:  # KeyNotFoundError has no err_code
        return True
    return isinstance(e, _TRANSIENT) and not isinstance(e, _FINAL)


async def retrying(make: Callable[[], Awaitable[T]], what: str, seconds: float) -> T:
    """``make()`` until it succeeds, a final answer, or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await make()
        except Exception as e:
            if not transient(e):
                raise
            if time.monotonic() > deadline:
                raise StoreUnavailable(f"the NATS cluster did not answer in time ({what}): "
                                       f"{type(e).__name__}") from None
            await asyncio.sleep(0.25)
