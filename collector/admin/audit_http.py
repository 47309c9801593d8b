"""``GET /v1/audit``: the audit trail, as far as the caller may see it (``chronolog audit``).

- An administrator of ``*`` sees every entry, chain fields included, and may narrow it with
  ``tenant``; an administrator of one tenant, or an investigator, sees the entries of its
  tenant only, without the chain fields (their numbers would tell how busy other tenants are).
- ``verify=1`` checks the whole chain and every signature (`audit_verify.verify_trail`). A
  viewer of one tenant learns whether the trail is intact, and what happened to its own
  entries; of anything else only that an entry it cannot see was touched.
- Reading the trail is itself an audit entry.
- On the JetStream store (several collectors, docs/scale-out.md), every collector's trail:
  this one's from its file, the others' from their copies in the cluster (audit_cluster.py),
  merged by time, each entry tagged with its ``collector``; ``verify=1`` checks each trail on
  its own (this collector's file and every copy in the cluster, its own included), and that
  the file still begins with its copy; each finding names the trail.

Parameters: ``since``, ``until`` (RFC 3339, on the entry time ``at``), ``tenant``, ``verify``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from chronolog.timefmt import BadTime, parse_rfc3339
from collector.admin.audit import AUDIT, parsed
from collector.admin.audit_cluster import AUDIT_CLUSTER, CollectorTrail, diverged
from collector.admin.audit_verify import TrailFinding, TrailReport, verify_trail
from collector.admin.endpoint import admin_scope, single_tenant
from collector.admin.http import ADMIN_STORE
from collector.auth.access import require_admin
from collector.auth.credentials import ALL_TENANTS, Principal
from collector.auth.sessions import SESSION_PREFIX
from collector.http import CREDENTIALS, ApiError, bearer_token, json_response, peer_certificate, require
from collector.store import StoreUnavailable

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


def _at(entry: dict[str, Any]) -> int | None:
    try:
        return parse_rfc3339(str(entry.get("at")))
    except BadTime:
        return None


def _select(entries: Iterable[dict[str, Any]], scope: str, full: bool, since: int | None,
            until: int | None) -> list[dict[str, Any]]:
    out = []
    for entry in entries:
        if scope != ALL_TENANTS and entry.get("tenant") != scope:
            continue
        at = _at(entry)
        if at is not None and ((since is not None and at < since) or (until is not None and at >= until)):
            continue
        out.append(entry if full else {k: v for k, v in entry.items() if k not in CHAIN_FIELDS})
    return out


def _merged(trails: list[CollectorTrail]) -> list[dict[str, Any]]:
    """Every collector's entries, tagged with it, by time (this collector's from its file:
    ``trails[0]``, not from its copy)."""
    own = trails[0].collector
    tagged = [{**entry, "collector": t.collector} for t in trails if not (t.copy and t.collector == own)
              for entry in parsed(t.lines)]
    return sorted(tagged, key=lambda e: _at(e) or 0)


def _scoped(finding: TrailFinding, scope: str, full: bool) -> dict[str, Any]:
    if full:
        return finding.to_dict()
    if finding.tenant == scope:  # without entry numbers: they would tell how busy others are
        return {"kind": finding.kind, "where": f"an entry of tenant {scope}",
                "detail": _WHAT.get(finding.kind, "it was altered")}
    return {"kind": finding.kind, "where": "an entry outside your scope", "detail": "not shown"}


def _named(finding: dict[str, Any], trail: CollectorTrail) -> dict[str, Any]:
    return {**finding, "collector": trail.collector, "where": f"collector {trail.label}: {finding['where']}"}


def _head(trail: CollectorTrail, report: TrailReport) -> dict[str, Any]:
    return {"collector": trail.label, "entries": report.entries, "n": report.head[0],
            "sha256": report.head[1]}


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
    cluster = request.app.get(AUDIT_CLUSTER)
    try:
        trails = None if cluster is None else await asyncio.to_thread(cluster.read)
    except StoreUnavailable as e:
        raise ApiError(503, "store_unavailable", f"the other collectors' audit trails: {e}") from None
    entries = await asyncio.to_thread(lambda: _select(trail.entries() if trails is None else _merged(trails),
                                                      scope, full, since, until))
    answer: dict[str, Any] = {"scope": scope, "entries": entries}
    if q.get("verify") not in (None, "", "0"):
        key = request.app[ADMIN_STORE].public_key()
        if trails is None:
            report = await asyncio.to_thread(verify_trail, trail.lines(), key)
            findings = [_scoped(f, scope, full) for f in report.findings]
        else:
            reports = await asyncio.to_thread(
                lambda: [(t, verify_trail(t.lines, key, others=t.signers)) for t in trails])
            report = reports[0][1]
            findings = [_named(_scoped(f, scope, full), t) for t, r in reports for f in r.findings]
            own = next((t for t in trails[1:] if t.collector == trails[0].collector), None)
            parted = diverged(trails[0], own) if own is not None else None
            if parted is not None:
                findings.append(_named(_scoped(parted, scope, full), trails[0]))
        answer["verify"] = {"clean": not findings, "findings": findings}
        if full:
            answer["verify"].update(entries=report.entries,
                                    head={"n": report.head[0], "sha256": report.head[1]})
            if trails is not None:
                answer["verify"]["heads"] = [_head(t, r) for t, r in reports]
    await trail.record(principal, "audit.read", None if scope == ALL_TENANTS else scope, "done",
                       {"since": q.get("since"), "until": q.get("until"), "verify": "verify" in answer,
                        "entries": len(entries)})
    return json_response(answer)


def add_audit_routes(app: web.Application) -> None:
    app.router.add_get("/v1/audit", handle_audit)
