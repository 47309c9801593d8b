"""``GET /v1/tail`` (lines as they arrive), ``GET /v1/count`` (lines per step and host) and
``GET /v1/context`` (one line and its neighbours): other shapes of answer (docs/wire.md).

**Tail** streams NDJSON until the client goes away: with ``since``, first the lines from then
to the moment it started following, in timeline order, then every new line the query keeps,
in the order the collector stores them. Nothing is lost between the two (a line is given
once). A client too slow to keep up is told how many lines it missed (``{"lost": n}``), and
a ``{"heartbeat": time}`` line comes every ``HEARTBEAT`` seconds when nothing else does.

**Count** runs the query without sending lines: NDJSON ``{"bucket", "host", "count"}`` per
step and host that has lines, then the summary; a page that runs out of time ends with a
cursor like a query's (the next page counts the rest; add the pages up).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from typing import Any

import orjson
from aiohttp import web

from chronolog.timefmt import BadTime, now_us, parse_rfc3339, to_rfc3339, valid_zone
from collector.admin.audit import AUDIT
from collector.http import ApiError, require
from collector.ingest.push import STORE
from collector.query.engine import Run, Summary
from collector.query.follow import Counts, live_rows
from collector.query.http import (
    QUERY_LIMITS,
    SKEW_MARGIN,
    Outcome,
    params_of,
    read_page,
    refused,
    stream_ndjson,
)
from collector.query.match import Matcher
from collector.query.render import Renderer
from collector.query.spec import Page, QuerySpec

__all__ = ["handle_context", "handle_count", "handle_tail"]

HEARTBEAT = 10.0
_NOT_FOR_TAIL = ("until", "order", "before", "after", "context", "cursor")
US = 1_000_000


async def handle_tail(request: web.Request) -> web.StreamResponse:
    principal = require(request, "investigator")
    params = params_of(request)
    try:
        given = [k for k in _NOT_FOR_TAIL if k in params]
        if given:
            raise ApiError(400, "bad_query", f"a tail follows from now on: {given[0]!r} is not for /v1/tail")
        catch_up = "since" in params
        params.setdefault("since", [to_rfc3339(now_us(), "UTC")])
        page = read_page(request, params)
    except ApiError as e:
        raise await refused(request, principal, "tail", e) from None
    store, audit, tenant = request.app[STORE], request.app[AUDIT], principal.tenant
    spec, renderer = page.spec, Renderer(page.spec.zone)
    matcher = Matcher(spec.text)
    await audit.record(principal, "tail", tenant, "started", {"params": page.params})
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson",
                                           "Cache-Control": "no-store"})
    await response.prepare(request)
    given_lines = 0
    with store.follow(tenant) as follower:
        started = now_us()
        seen: set[tuple[str, str, int]] = set()
        try:
            if catch_up:
                lines = await asyncio.to_thread(_catch_up, store, tenant, page, started,
                                                request.app[SKEW_MARGIN], renderer, seen)
                given_lines += len(lines)
                if lines:
                    await response.write(b"\n".join(lines) + b"\n")
            while True:
                arrived, lost = await follower.take(HEARTBEAT)
                out = [orjson.dumps({"lost": lost, "detail": f"{lost} new lines were not sent: this client "
                                     "did not keep up; query their time range to read them"})] if lost else []
                rows = list(live_rows(arrived, spec, matcher, now_us(), seen))
                out += [orjson.dumps(renderer.record(r)) for r in rows]
                given_lines += len(rows)
                if not out:
                    out.append(orjson.dumps({"heartbeat": renderer.time(now_us())}))
                await response.write(b"\n".join(out) + b"\n")
        except ConnectionResetError:  # the client went away: the usual end of a tail
            pass
        finally:
            await asyncio.shield(audit.record(principal, "tail", tenant, "done",
                                              {"params": page.params, "lines": given_lines}))
    return response


def _catch_up(store: Any, tenant: str, page: Page, started: int, margin: float, renderer: Renderer,
              seen: set[tuple[str, str, int]]) -> list[bytes]:
    """The lines from ``since`` to ``started`` (at most a page: a tail is for what comes)."""
    with store.reader(tenant) as reader:
        run = Run(reader, page, started, margin)
        out = []
        for row in run:
            seen.add((row.key[3], row.key[2], row.key[4]))
            out.append(orjson.dumps(renderer.record(row)))
        return out


_CONTEXT_PARAMS = {"agent", "stream", "seq", "ts", "host", "before", "after", "zone"}


async def handle_context(request: web.Request) -> web.Response:
    """``GET /v1/context``: one line, named by ``agent``, ``stream``, ``seq`` and its ``ts`` (as
    a record gives them), with ``before`` and ``after`` lines of its stream (default 5):
    what a console shows when a line is clicked."""
    principal = require(request, "investigator")
    q = request.query
    limits = request.app[QUERY_LIMITS]
    try:
        unknown = sorted(set(q) - _CONTEXT_PARAMS)
        if unknown:
            raise ApiError(400, "bad_query", f"unknown parameter {unknown[0]!r}; expected "
                           f"{', '.join(sorted(_CONTEXT_PARAMS))}")
        missing = [k for k in ("agent", "stream", "seq", "ts") if not q.get(k)]
        if missing:
            raise ApiError(400, "bad_query", f"{missing[0]!r} is required: a line is named by agent, "
                           "stream, seq and ts")
        if not q["seq"].isdigit():
            raise ApiError(400, "bad_query", "'seq' must be a whole number")
        around = {}
        for name in ("before", "after"):
            text = q.get(name, "5")
            if not text.isdigit() or int(text) > limits.max_context:
                raise ApiError(400, "bad_query",
                               f"'{name}' must be an integer from 0 to {limits.max_context}")
            around[name] = int(text)
        ts = parse_rfc3339(q["ts"])
        zone = valid_zone(q.get("zone", limits.zone))
    except BadTime as e:
        raise await refused(request, principal, "context", ApiError(400, "bad_query", str(e))) from None
    except ApiError as e:
        raise await refused(request, principal, "context", e) from None
    spec = QuerySpec(ts, ts + 1, frozenset({q["host"]}) if q.get("host") else frozenset(),
                     frozenset({q["stream"]}), before=around["before"], after=around["after"], zone=zone)
    renderer = Renderer(zone)
    store, tenant = request.app[STORE], principal.tenant

    def find() -> tuple[list[bytes], Summary]:
        with store.reader(tenant) as reader:
            run = Run(reader, Page(spec, None, limits.time_budget), now_us(), 0.0)
            rows = run.line_with_context(q["agent"], q["stream"], int(q["seq"]), ts)
            return [orjson.dumps(renderer.record(r)) for r in rows], run.summary

    lines, summary = await asyncio.to_thread(find)
    await request.app[AUDIT].record(principal, "context", tenant, "done",
                                    {"params": params_of(request), "lines": len(lines)})
    if not lines:
        raise ApiError(404, "unknown_line", "no such line in this tenant (agent, stream, seq and ts must "
                       "be a record's own)")
    tail = orjson.dumps({"summary": {"count": len(lines), "context_missing": summary.context_missing,
                                     "damaged": summary.damaged, "zone": zone}})
    return web.Response(body=b"\n".join([*lines, tail]) + b"\n", content_type="application/x-ndjson")


async def handle_count(request: web.Request) -> web.StreamResponse:
    principal = require(request, "investigator")
    try:
        step_text = request.query.get("step", "")
        if not step_text.isdigit() or not 1 <= int(step_text) <= 366 * 86_400:
            raise ApiError(400, "bad_query", "'step' is required: whole seconds from 1 to a year")
        for name in ("before", "after", "context", "limit"):
            if name in request.query:
                raise ApiError(400, "bad_query", f"{name!r} is not for /v1/count: it counts every line")
        page = read_page(request, extra=frozenset({"step"}))
    except ApiError as e:
        raise await refused(request, principal, "count", e) from None
    step = int(step_text) * US
    unlimited = Page(dataclasses.replace(page.spec, limit=2**62), page.cursor, page.budget, page.params)
    store, audit, tenant = request.app[STORE], request.app[AUDIT], principal.tenant
    renderer = Renderer(page.spec.zone)
    outcome = Outcome()

    def produce(cancelled: threading.Event) -> Iterator[bytes]:
        with store.reader(tenant) as reader:
            run = Run(reader, unlimited, now_us(), request.app[SKEW_MARGIN])
            counts = Counts.of(_until(run, cancelled), page.spec.since, step)
            for bucket, host, n in counts.items():
                yield orjson.dumps({"bucket": renderer.time(bucket), "host": host, "count": n})
            yield orjson.dumps(renderer.summary(run.summary, page.spec.since, page.spec.until,
                                                page.spec.order))
            outcome.summary = run.summary

    await audit.record(principal, "count", tenant, "started", {"params": page.params})
    response = await stream_ndjson(request, produce, outcome)
    s = outcome.summary
    details: dict[str, Any] = {"params": page.params}
    if s is not None:
        details.update(lines=s.hits, complete=s.complete)
    await audit.record(principal, "count", tenant, "failed" if outcome.error else "done", details)
    return response


def _until(run: Run, cancelled: threading.Event) -> Iterator[Any]:
    for row in run:
        if cancelled.is_set():
            return
        yield row
