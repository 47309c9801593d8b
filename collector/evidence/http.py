"""``GET /v1/export``: the query's lines as an evidence bundle (docs/evidence.md), for an
investigator of the tenant; the tenant comes from the credential only.

The parameters are `GET /v1/query`'s (every filter, context and order; no ``cursor``: an export
holds every page up to ``limit`` hits), plus ``clock_margin`` (seconds of clock evidence before
and after the range; default 600). The WAL is sealed first, so that every line already
acknowledged can be proved. The bundle is built in memory and never written to disk here: it
holds the lines in clear. Every export is an entry of the audit trail (who, when, what, how
many), written before the bundle leaves.
"""

from __future__ import annotations

import asyncio
import hashlib

from aiohttp import web

from chronolog.evidence.bundle import write_bundle
from chronolog.timefmt import now_us
from collector.admin.audit import AUDIT
from collector.evidence.clock import CROSS_CHECK
from collector.evidence.export import ExportRequest, build_export
from collector.evidence.source import EvidenceSource
from collector.http import TELEMETRY, ApiError, require
from collector.query.http import SKEW_MARGIN, read_page, refused

__all__ = ["CONTENT_TYPE", "EVIDENCE", "MAX_CLOCK_MARGIN", "handle_export"]

EVIDENCE = web.AppKey("evidence", EvidenceSource)
CONTENT_TYPE = "application/vnd.chronolog.evidence+x-ndjson"
DEFAULT_CLOCK_MARGIN = 600
MAX_CLOCK_MARGIN = 86_400


class _Collect:
    """A write-only sink that keeps the bundle in chunks of about 1 MiB, and its SHA-256."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self._pending = bytearray()
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self._pending += data
        self.sha256.update(data)
        self.size += len(data)
        if len(self._pending) >= 1 << 20:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self._pending:
            self.parts.append(bytes(self._pending))
            self._pending.clear()


def _margin(request: web.Request) -> int:
    text = request.query.get("clock_margin", str(DEFAULT_CLOCK_MARGIN))
    if not text.isdigit() or int(text) > MAX_CLOCK_MARGIN:
        raise ApiError(400, "bad_query", f"'clock_margin' must be whole seconds from 0 to {MAX_CLOCK_MARGIN}")
    return int(text) * 1_000_000


async def handle_export(request: web.Request) -> web.StreamResponse:
    principal = require(request, "investigator")
    try:
        page = read_page(request, extra=frozenset({"clock_margin"}))
        if page.cursor is not None:
            raise ApiError(400, "bad_query", "an export takes no 'cursor': it holds every page of its query "
                           "up to 'limit' hits")
        margin = _margin(request)
    except ApiError as e:
        raise await refused(request, principal, "export", e) from None
    source = request.app[EVIDENCE]
    tenant = principal.tenant
    await source.seal(tenant)  # so every line acknowledged so far can be proved
    export_request = ExportRequest(page, margin, request.app[SKEW_MARGIN], principal)
    export = await asyncio.to_thread(build_export, source, tenant, export_request, request.app[CROSS_CHECK],
                                     now_us())
    out = _Collect()
    write_bundle(out, export.manifest, export.statement, export.records, export.proofs)
    out.flush()
    selection = export.selection
    await request.app[AUDIT].record(principal, "export", tenant, "done", {
        "params": page.params, "lines": export.matches, "hits": selection["hits"],
        "complete": selection["complete"], "clock_records": export.clock_records, "unproven": export.unproven,
        "hosts": export.hosts, "bytes": out.size, "sha256": out.sha256.hexdigest()})
    response = web.StreamResponse(headers={"Content-Type": CONTENT_TYPE, "Content-Length": str(out.size),
                                           "X-Chronolog-Export-Sha256": out.sha256.hexdigest()})
    await response.prepare(request)
    for part in out.parts:
        await response.write(part)
    await response.write_eof()
    request.app[TELEMETRY].query_served(export.matches, selection["hits"])
    return response
