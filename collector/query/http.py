"""``GET /v1/query`` and ``GET /v1/streams``: the investigator's read API (docs/wire.md).

A query answers NDJSON: each line record as it is found, in timeline order, then one
``{"summary": ...}`` line saying whether the page is complete or, when it reached its limit
or its time budget, the cursor that continues it. Once the headers are sent, nothing fails
silently: a failure ends the stream with an ``{"error": ...}`` record instead of the summary.

Every read is in the audit trail: an entry when it starts (who, tenant, parameters), before
the first line leaves (#6: which investigator read what), and one when it ends (how many
lines, complete or not).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from chronolog.timefmt import now_us
from collector.admin.audit import AUDIT
from collector.auth.credentials import Principal
from collector.fleet.http import FLEET
from collector.http import TELEMETRY, ApiError, json_response, require
from collector.ingest.push import STORE
from collector.query.engine import Run, Summary
from collector.query.match import Matcher
from collector.query.render import Renderer
from collector.query.spec import BadQuery, Limits, Page, from_params

__all__ = ["QUERY_LIMITS", "SKEW_MARGIN", "Outcome", "handle_query", "handle_streams", "params_of",
           "read_page", "refused", "stream_ndjson"]

log = logging.getLogger("collector.query")

QUERY_LIMITS = web.AppKey("query_limits", Limits)
SKEW_MARGIN = web.AppKey("skew_margin", float)

FLUSH_ROWS = 500
FLUSH_SECONDS = 0.2


def params_of(request: web.Request) -> dict[str, list[str]]:
    return {k: request.query.getall(k) for k in sorted(set(request.query))}


async def refused(request: web.Request, principal: Principal, action: str, e: ApiError) -> ApiError:
    await request.app[AUDIT].record(principal, action, principal.tenant, "refused",
                                    {"status": e.status, "reason": e.detail, "params": params_of(request)})
    return e


def read_page(request: web.Request, params: dict[str, list[str]] | None = None,
              extra: frozenset[str] = frozenset()) -> Page:
    """The page a request asks for (``params``: its parameters, if not the request's own;
    ``extra``: parameters the caller reads itself); `ApiError` 400 for a bad one."""
    try:
        page = from_params(params_of(request) if params is None else params, request.app[QUERY_LIMITS], extra)
        Matcher(page.spec.text)  # a bad pattern is refused before anything is sent
    except BadQuery as e:
        raise ApiError(400, "bad_query", str(e)) from None
    return page


@dataclass(slots=True)
class Outcome:
    """How a streamed answer ended, for the audit trail and the metrics."""

    summary: Summary | None = None
    error: str | None = None
    cancelled: bool = False


async def handle_query(request: web.Request) -> web.StreamResponse:
    principal = require(request, "investigator")
    try:
        page = read_page(request)
    except ApiError as e:
        raise await refused(request, principal, "query", e) from None
    store, audit = request.app[STORE], request.app[AUDIT]
    margin = request.app[SKEW_MARGIN]
    renderer = Renderer(page.spec.zone)
    tenant = principal.tenant

    def produce(cancelled: threading.Event) -> Iterator[bytes]:
        with store.reader(tenant) as reader:
            run = Run(reader, page, now_us(), margin)
            for row in run:
                if cancelled.is_set():
                    return
                yield orjson.dumps(renderer.record(row))
            yield orjson.dumps(renderer.summary(run.summary, page.spec.since, page.spec.until,
                                                page.spec.order))
            outcome.summary = run.summary

    outcome = Outcome()
    await audit.record(principal, "query", tenant, "started", {"params": page.params})
    response = await stream_ndjson(request, produce, outcome)
    s = outcome.summary
    details: dict[str, Any] = {"params": page.params}
    if s is not None:
        details.update(lines=s.hits + s.context, hits=s.hits, complete=s.complete, stopped=s.stopped,
                       damaged=len(s.damaged))
        request.app[TELEMETRY].query_served(s.hits + s.context, s.hits)
    result = "failed" if outcome.error else "cancelled" if outcome.cancelled else "done"
    if outcome.error:
        details["error"] = outcome.error
    await audit.record(principal, "query", tenant, result, details)
    return response


async def stream_ndjson(request: web.Request, produce: Callable[[threading.Event], Iterator[bytes]],
                        outcome: Outcome) -> web.StreamResponse:
    """Run ``produce`` (blocking: it reads the store) in a worker thread and send its lines
    as they come, in batches. A failure after the headers ends the stream with an error
    record; a client that goes away stops the worker."""
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson",
                                           "Cache-Control": "no-store"})
    await response.prepare(request)
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
    cancelled = threading.Event()

    def work() -> None:
        batch: list[bytes] = []
        flushed = time.monotonic()
        try:
            for line in produce(cancelled):
                batch.append(line)
                if len(batch) >= FLUSH_ROWS or time.monotonic() - flushed > FLUSH_SECONDS:
                    _put(chunks, b"\n".join(batch) + b"\n", cancelled)
                    batch, flushed = [], time.monotonic()
        except Exception as e:  # after the headers: say so in the stream, never just cut it
            log.exception("request failed after its answer started", extra={"path": request.path})
            outcome.error = type(e).__name__
            # The shape of every API error; the detail stays in the collector's log.
            batch.append(orjson.dumps({"error": "internal", "detail": "the answer failed part way and "
                                       "is incomplete; see the collector log"}))
        if batch:
            _put(chunks, b"\n".join(batch) + b"\n", cancelled)
        _put(chunks, None, cancelled)

    worker = asyncio.get_running_loop().run_in_executor(None, work)
    try:
        while (chunk := await asyncio.to_thread(chunks.get)) is not None:
            await response.write(chunk)
        await response.write_eof()
    except ConnectionResetError:  # the client went away
        outcome.cancelled = True
    finally:
        cancelled.set()
        _drain(chunks)
        await asyncio.shield(worker)
    return response


def _put(chunks: queue.Queue[bytes | None], item: bytes | None, cancelled: threading.Event) -> None:
    while not cancelled.is_set():
        try:
            chunks.put(item, timeout=0.5)
            return
        except queue.Full:
            continue


def _drain(chunks: queue.Queue[bytes | None]) -> None:
    while True:
        try:
            chunks.get_nowait()
        except queue.Empty:
            return


async def handle_streams(request: web.Request) -> web.Response:
    principal = require(request, "investigator")
    if request.query:
        raise await refused(request, principal, "streams",
                            ApiError(400, "bad_query", "/v1/streams takes no parameters"))
    reports = request.app[STORE].streams(principal.tenant)
    fleet = request.app[FLEET]
    hosts = fleet.hosts_of_agents(principal.tenant)
    zone = request.app[QUERY_LIMITS].zone
    await request.app[AUDIT].record(principal, "streams", principal.tenant, "done", {"streams": len(reports)})
    return json_response({"streams": [
        {"agent": r.agent, "host": hosts.get(r.agent), "stream": r.stream, "lines": r.lines,
         "last_seq": r.last_seq, "gaps": [list(g) for g in r.gaps],
         "last_seen": fleet.stream_last_seen(principal.tenant, hosts.get(r.agent), r.stream, zone)}
        for r in reports
    ]})
