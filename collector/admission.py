"""What the API takes on at once (issue 16): requests in flight, and the memory that batches
being read, decoded and stored hold. Past either cap a request is refused with 503
``overloaded`` and ``Retry-After``, which agents honour (they keep the batch and send it
again), instead of the process growing until the kernel kills it.

Batches are costed before they are decompressed, from what their compression declares
(`chronolog.wire.declared_size`), times what decoding was measured to hold per byte
(`INGEST_AMPLIFICATION`); a batch that then inflates past its declaration is refused by the
decoder. One request is always let through, however large, so that a batch the budget
cannot hold alone still gets in when nothing else is in flight.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from aiohttp import web

from collector.http import ApiError, Handler

__all__ = ["ADMISSION", "INGEST_AMPLIFICATION", "Admission", "Held", "admission_middleware"]

# Bytes of memory a decoded, stored batch holds per byte of its JSON, at worst: many short
# lines (measured by bench/limits.py: one Python object or more per value, pydantic's copies,
# the WAL record, its ciphertext and frame). Lines of 256 bytes hold about a third of this.
INGEST_AMPLIFICATION = 10
RETRY_AFTER = 1  # seconds: a batch in flight takes about that long to store


class Admission:
    """Counts requests in flight and ingest bytes held; refuses past the caps."""

    def __init__(self, max_requests: int, ingest_bytes: int) -> None:
        self.max_requests = max_requests
        self.ingest_bytes = ingest_bytes
        self.requests = 0
        self.held = 0  # ingest bytes reserved by requests in flight

    def overloaded(self, what: str) -> ApiError:
        return ApiError(503, "overloaded", f"the collector is at its limit of {what}; try again "
                        f"in {RETRY_AFTER} s", headers={"Retry-After": str(RETRY_AFTER)})

    @contextlib.contextmanager
    def ingest(self, cost: int) -> Iterator[Held]:
        """Reserve ``cost`` bytes for one batch while the block runs (503 if they do not fit)."""
        held = Held(self)
        held.grow(cost)
        try:
            yield held
        finally:
            self.held -= held.amount


class Held:
    """One request's reservation; it grows as the request learns what its batch costs."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission
        self.amount = 0

    def grow(self, cost: int) -> None:
        a = self.admission
        alone = a.held == self.amount  # nothing else in flight: always let through
        if not alone and a.held + cost > a.ingest_bytes:
            raise a.overloaded(f"{a.ingest_bytes} bytes of batches in flight")
        a.held += cost
        self.amount += cost


ADMISSION = web.AppKey("admission", Admission)


@web.middleware
async def admission_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a request past ``max_requests`` in flight (inside the error middleware, so the
    refusal is typed JSON like every other)."""
    admission = request.app[ADMISSION]
    if admission.requests >= admission.max_requests:
        raise admission.overloaded(f"{admission.max_requests} requests in flight")
    admission.requests += 1
    try:
        return await handler(request)
    finally:
        admission.requests -= 1
