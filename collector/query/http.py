"""``GET /v1/query`` and ``GET /v1/streams``: the investigator's read API (docs/wire.md).

Query parameters: ``since`` and ``until`` (RFC 3339 with an explicit offset; ``until`` is
exclusive), ``host`` (repeatable), ``grep`` (substring), ``limit`` and ``zone`` (IANA name
results are shown in). The answer is NDJSON: one record per line in event-time order, then
one ``{"summary": ...}`` line.

Every read is an entry of the audit trail (who, tenant, parameters, how many lines), written
before the answer leaves (#6: which investigator read what).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import orjson
from aiohttp import web

from chronolog.timefmt import BadTime, parse_rfc3339, valid_zone
from collector.admin.audit import AUDIT
from collector.auth.credentials import Principal
from collector.http import TELEMETRY, ApiError, json_response, require
from collector.ingest.push import STORE
from collector.query.engine import QuerySpec, run_query

__all__ = ["MAX_RESULTS", "QUERY_ZONE", "handle_query", "handle_streams", "reported_in_stream"]

log = logging.getLogger("collector.query")

QUERY_ZONE = web.AppKey("query_zone", str)
MAX_RESULTS = web.AppKey("max_results", int)

_PARAMS = {"since", "until", "host", "grep", "limit", "zone"}


def _spec(request: web.Request) -> tuple[QuerySpec, str]:
    q = request.query
    unknown = sorted(set(q) - _PARAMS)
    if unknown:
        raise ApiError(400, "bad_query", f"unknown parameter {unknown[0]!r}; "
                       f"expected {', '.join(sorted(_PARAMS))}")
    try:
        since = parse_rfc3339(q["since"]) if "since" in q else None
        until = parse_rfc3339(q["until"]) if "until" in q else None
        zone = valid_zone(q.get("zone", request.app[QUERY_ZONE]))
    except BadTime as e:
        raise ApiError(400, "bad_query", str(e)) from None
    if since is None or until is None:
        raise ApiError(400, "bad_query", "both 'since' and 'until' are required")
    if until <= since:
        raise ApiError(400, "bad_query", "'until' must be after 'since'")
    ceiling = request.app[MAX_RESULTS]
    limit_text = q.get("limit", str(ceiling))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= ceiling:
        raise ApiError(400, "bad_query", f"'limit' must be an integer from 1 to {ceiling}")
    hosts = frozenset(q.getall("host", []))
    return QuerySpec(since, until, hosts, q.get("grep") or None, int(limit_text)), zone


async def _refused(request: web.Request, principal: Principal, action: str, e: ApiError) -> ApiError:
    await request.app[AUDIT].record(principal, action, principal.tenant, "refused",
                                    {"status": e.status, "reason": e.detail, "params": _params(request)})
    return e


def _params(request: web.Request) -> dict[str, list[str]]:
    return {k: request.query.getall(k) for k in sorted(set(request.query))}


async def handle_query(request: web.Request) -> web.StreamResponse:
    principal = require(request, "investigator")
    try:
        spec, zone = _spec(request)
    except ApiError as e:
        raise await _refused(request, principal, "query", e) from None
    store = request.app[STORE]
    result = await asyncio.to_thread(
        run_query, store.scan(principal.tenant, spec.since, spec.until, spec.hosts, spec.grep), spec
    )
    await request.app[AUDIT].record(principal, "query", principal.tenant, "done", {
        "params": _params(request), "lines": len(result.rows), "matched": result.matched})
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    async with reported_in_stream(request, response):
        lines = [orjson.dumps(row.record(zone)) for row in result.rows]
        lines.append(orjson.dumps({"summary": {
            "count": len(result.rows), "matched": result.matched,
            "truncated": result.truncated, "zone": zone,
        }}))
        await response.write(b"\n".join(lines) + b"\n")
    await response.write_eof()
    request.app[TELEMETRY].query_served(len(result.rows), result.matched)
    return response


async def handle_streams(request: web.Request) -> web.Response:
    principal = require(request, "investigator")
    if request.query:
        raise await _refused(request, principal, "streams",
                             ApiError(400, "bad_query", "/v1/streams takes no parameters"))
    reports = request.app[STORE].streams(principal.tenant)
    await request.app[AUDIT].record(principal, "streams", principal.tenant, "done", {"streams": len(reports)})
    return json_response({"streams": [
        {"agent": r.agent, "stream": r.stream, "lines": r.lines, "last_seq": r.last_seq,
         "gaps": [list(g) for g in r.gaps]}
        for r in reports
    ]})


@contextlib.asynccontextmanager
async def reported_in_stream(request: web.Request, response: web.StreamResponse) -> AsyncIterator[None]:
    """Once an NDJSON answer's headers are out, its status cannot change. A failure after that
    (inside this block) ends the answer with one last line, ``{"error": "internal", "detail":
    ...}``, the shape of every API error, which clients report as an incomplete answer; a
    connection cut instead would read like a short but complete one (issue 16). Write whole
    lines only, so the error line starts a line of its own."""
    try:
        yield
    except (ConnectionError, asyncio.CancelledError):
        raise  # the client is gone: nobody to tell
    except Exception:
        log.exception("request failed after its answer started", extra={"path": request.path})
        error = {"error": "internal", "detail": "the answer failed part way and is incomplete; "
                 "see the collector log"}
        with contextlib.suppress(ConnectionError):
            await response.write(orjson.dumps(error) + b"\n")
