"""``POST /console/verify``: check an evidence bundle uploaded from the browser with the verifier
of ``chronolog verify-export`` (`chronolog.evidence.verify.verify_bundle`), against this
collector's public key, and answer with its report and the same text the command prints.

Checked in the collector, not in the browser: the verifier is one body of Python code in the
shared package, and a second one in JavaScript would be a second verifier to keep in step with
the first (Merkle proofs, the chain, the matching of records, the clock summary) and could
come to disagree with it. What this check is worth is said on the page: it trusts this
collector's key, which the signed-in investigator trusts already; an auditor who trusts no
collector runs ``chronolog verify-export`` offline with a key obtained apart from the bundle.
Nothing is stored; the check is an audit entry (the bundle's size, SHA-256 and verdict).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib

from aiohttp import web

from chronolog.cli.reports import render_bundle_report
from chronolog.evidence.verify import verify_bundle
from collector.admin.audit import AUDIT
from collector.console.cookies import CONSOLE
from collector.evidence.http import EVIDENCE
from collector.http import ApiError, json_response, receive_body

__all__ = ["handle_verify"]


async def handle_verify(request: web.Request) -> web.Response:
    _, session = request.app[CONSOLE].require(request)
    data = await receive_body(request)
    if not data:
        raise ApiError(400, "bad_request", "send the bundle (a file from `chronolog export` or the "
                       "timeline's Export) as the request body")
    name = request.headers.get("X-Chronolog-File-Name", "the bundle")[:200]
    source = request.app.get(EVIDENCE)
    if source is None:
        raise ApiError(503, "unavailable", "this collector makes no evidence bundles (no store that signs)")
    key = base64.b64decode(source.identity()["public_key"])
    report = await asyncio.to_thread(verify_bundle, data, key)
    verdict = "findings" if not report.clean else "unproven" if report.unproven else "intact"
    await request.app[AUDIT].record(session.principal, "console.verify", session.principal.tenant, "done", {
        "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "verdict": verdict,
        "findings": len(report.findings)})
    return json_response({"verdict": verdict, "text": render_bundle_report(report, name),
                          "report": report.to_dict()})
