"""``GET /v1/audit``: the audit trail, as far as the caller may see it (``chronolog audit``).

- An administrator of ``*`` sees every entry, chain fields included, and may narrow it with
  ``tenant``; an administrator of one tenant, or an investigator, sees the entries of its
  tenant only, without the chain fields (their numbers would tell how busy other tenants are).
- ``verify=1`` checks the whole chain and every signature (`audit_verify.verify_trail`). A
  viewer of one tenant learns whether the trail is intact, and what happened to its own
  entries; of anything else only that an entry it cannot see was touched.
- Reading the trail is itself an audit entry.

Parameters: ``since``, ``until`` (RFC 3339, on the entry time ``at``), ``tenant``, ``verify``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from chronolog.timefmt import BadTime, parse_rfc3339
from collector.admin.audit import AUDIT, AuditTrail
from collector.admin.audit_verify import TrailFinding, verify_trail
from collector.admin.endpoint import admin_scope, single_tenant
from collector.admin.http import ADMIN_STORE
from collector.auth.access import require_admin
from collector.auth.credentials import ALL_TENANTS, Principal
from collector.auth.sessions import SESSION_PREFIX
from collector.http import CREDENTIALS, ApiError, bearer_token, json_response, peer_certificate, require

__all__ = ["add_audit_routes"]

_PARAMS = {"since", "until", "tenant", "verify"}
CHAIN_FIELDS = ("n", "prev", "signer", "sig")
_WHAT = {"rewritten": "it was altered after it was written", "reordered": "it was moved out of its place",
         "duplicated": "it appears twice"}


def _caller(request: web.Request) -> Principal:
    """An administrator (two factors) or an investigator."""
    token = bearer_token(request)
    der = peer_certificate(request)
    credentials = request.app[CREDENTIALS]
    claimed = [credentials.authenticate(token) if token else None,
               credentials.authenticate_certificate(der) if der else None]
    if (token or "").startswith(SESSION_PREFIX) or any(p is not None and p.role == "admin" for p in claimed):
        return require_admin(request)
    return require(request, "investigator")


def _bound(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_rfc3339(value)
    except BadTime as e:
        raise ApiError(400, "bad_query", f"{name}: {e}") from None


def _select(trail: AuditTrail, scope: str, full: bool, since: int | None,
            until: int | None) -> list[dict[str, Any]]:
    out = []
    for entry in trail.entries():
        if scope != ALL_TENANTS and entry.get("tenant") != scope:
            continue
        try:
            at = parse_rfc3339(str(entry.get("at")))
        except BadTime:
            at = None
        if at is not None and ((since is not None and at < since) or (until is not None and at >= until)):
            continue
        out.append(entry if full else {k: v for k, v in entry.items() if k not in CHAIN_FIELDS})
    return out


def _scoped(finding: TrailFinding, scope: str, full: bool) -> dict[str, Any]:
    if full:
        return finding.to_dict()
    if finding.tenant == scope:  # without entry numbers: they would tell how busy others are
        return {"kind": finding.kind, "where": f"an entry of tenant {scope}",
                "detail": _WHAT.get(finding.kind, "it was altered")}
    return {"kind": finding.kind, "where": "an entry outside your scope", "detail": "not shown"}


async def handle_audit(request: web.Request) -> web.Response:
    principal = _caller(request)
    q = request.query
    unknown = sorted(set(q) - _PARAMS)
    if unknown:
        raise ApiError(400, "bad_query",
                       f"unknown parameter {unknown[0]!r}; expected {', '.join(sorted(_PARAMS))}")
    scope = principal.tenant
    if "tenant" in q:
        if principal.role != "admin":
            raise ApiError(400, "bad_query", "'tenant' is for administrators of every tenant; an "
                           "investigator sees its own tenant")
        scope = admin_scope(request, single_tenant(request))[1]
    since, until = _bound(q.get("since"), "since"), _bound(q.get("until"), "until")
    trail = request.app[AUDIT]
    full = principal.tenant == ALL_TENANTS
    entries = await asyncio.to_thread(_select, trail, scope, full, since, until)
    answer: dict[str, Any] = {"scope": scope, "entries": entries}
    if q.get("verify") not in (None, "", "0"):
        report = await asyncio.to_thread(verify_trail, trail.lines(), request.app[ADMIN_STORE].public_key())
        findings = [_scoped(f, scope, full) for f in report.findings]
        answer["verify"] = {"clean": report.clean, "findings": findings}
        if full:
            answer["verify"].update(entries=report.entries,
                                    head={"n": report.head[0], "sha256": report.head[1]})
    await trail.record(principal, "audit.read", None if scope == ALL_TENANTS else scope, "done",
                       {"since": q.get("since"), "until": q.get("until"), "verify": "verify" in answer,
                        "entries": len(entries)})
    return json_response(answer)


def add_audit_routes(app: web.Application) -> None:
    app.router.add_get("/v1/audit", handle_audit)
