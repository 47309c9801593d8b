"""``/v1/admin/tenants`` and ``/v1/admin/credentials``: tenants, and the credentials of agents
and investigators, through the API (docs/security.md).

- A tenant is created explicitly (its key is made then); credentials are issued only for a
  tenant that exists.
- Only agent and investigator credentials are issued here. Administrator factors (accounts,
  admin tokens and certificates) are made on the collector host only
  (``chronolog-collector admins add``, ``credentials issue --role admin``), so no
  administrator can widen its own scope through the API.
- A token or certificate key is in the answer once and nowhere else: not in the audit trail,
  not in a log.
- Revoking is a guarded operation: a dry run unless ``confirm`` repeats the credential id.
- An administrator sees and touches only credentials of its scope; anything else is "no such
  credential", so ids of other tenants are not even confirmed to exist.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from collector.admin.endpoint import DATA_DIR, Body, confirmed, done, endpoint
from collector.admin.http import ADMIN_STORE
from collector.auth.ca import CertificateAuthority
from collector.auth.credentials import ALL_TENANTS, CredentialError, Principal
from collector.http import CREDENTIALS, ApiError

__all__ = ["add_tenant_routes"]

ISSUABLE = ("agent", "investigator")
MAX_NAME = 128


@endpoint("tenants.create", set())
async def handle_tenant_create(request: web.Request, principal: Principal, tenant: str,
                               _: Body) -> web.Response:
    created = await asyncio.to_thread(request.app[ADMIN_STORE].create_tenant, tenant)
    if not created:
        raise ApiError(409, "tenant_exists", f"tenant {tenant} exists already")
    return await done(request, principal, "tenants.create", tenant, "done", {}, {"tenant": tenant,
                                                                                "created": True})


@endpoint("tenants.list", every_tenant=True)
async def handle_tenant_list(request: web.Request, principal: Principal, tenant: str,
                             _: Body) -> web.Response:
    existing = request.app[ADMIN_STORE].tenants()
    shown = existing if tenant == ALL_TENANTS else [t for t in existing if t == tenant]
    return await done(request, principal, "tenants.list", tenant, "done", {"tenants": len(shown)},
                      {"tenants": shown})


@endpoint("credentials.issue", {"role", "name", "cert"})
async def handle_issue(request: web.Request, principal: Principal, tenant: str, body: Body) -> web.Response:
    role, name, cert = body.get("role"), body.get("name"), body.get("cert", False)
    if role not in ISSUABLE:
        raise ApiError(400, "bad_request", f"'role' must be one of {', '.join(ISSUABLE)} (administrator "
                       "credentials are made on the collector host)")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME or not name.isprintable():
        raise ApiError(400, "bad_request", f"'name' must say who or what holds it: 1-{MAX_NAME} printable "
                       "characters")
    if not isinstance(cert, bool):
        raise ApiError(400, "bad_request", "'cert' must be true or false")
    if tenant not in request.app[ADMIN_STORE].tenants():
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant!r}: create it first "
                       f"(`chronolog admin tenant create {tenant}`)")
    credentials = request.app[CREDENTIALS]
    answer: dict[str, Any] = {"tenant": tenant, "role": role, "name": name}
    try:
        if cert:
            ca = CertificateAuthority(request.app[DATA_DIR] / "ca")
            if not ca.exists():
                raise ApiError(409, "no_ca", "the collector has no CA: create it on the collector host "
                               "with `chronolog-collector ca init`")
            cid, issued = await asyncio.to_thread(credentials.issue_certificate, tenant, role, name, ca)
            answer.update(id=cid, kind="certificate", certificate=issued.cert_pem.decode(),
                          key=issued.key_pem.decode(), ca=ca.cert_file.read_text())
        else:
            cid, token = credentials.issue(tenant, role, name)
            answer.update(id=cid, kind="token", token=token)
    except CredentialError as e:
        raise ApiError(400, "bad_request", str(e)) from None
    return await done(request, principal, "credentials.issue", tenant, "done",
                      {"id": cid, "role": role, "name": name, "kind": answer["kind"]}, answer)


def _in_scope(entry: dict[str, str | None], scope: str) -> bool:
    return scope == ALL_TENANTS or entry["tenant"] == scope


@endpoint("credentials.list", every_tenant=True)
async def handle_list(request: web.Request, principal: Principal, tenant: str, _: Body) -> web.Response:
    entries = [e for e in request.app[CREDENTIALS].entries() if _in_scope(e, tenant)]
    return await done(request, principal, "credentials.list", tenant, "done", {"credentials": len(entries)},
                      {"credentials": entries})


@endpoint("credentials.revoke", {"id", "confirm"}, every_tenant=True)
async def handle_revoke(request: web.Request, principal: Principal, tenant: str, body: Body) -> web.Response:
    credential_id = body.get("id")
    credentials = request.app[CREDENTIALS]
    live = {e["id"]: e for e in credentials.entries() if e["revoked"] is None and _in_scope(e, tenant)}
    entry = live.get(credential_id) if isinstance(credential_id, str) else None
    if entry is None:
        raise ApiError(404, "unknown_credential", f"no live credential {credential_id!r} in this "
                       "administrator's scope")
    where = entry["tenant"] if entry["tenant"] != ALL_TENANTS else None
    if not confirmed(body, str(credential_id), "the credential id"):
        return await done(request, principal, "credentials.revoke", where, "dry_run", {"id": credential_id},
                          {"dry_run": True, "credential": entry})
    credentials.revoke(str(credential_id))
    return await done(request, principal, "credentials.revoke", where, "done",
                      {"id": credential_id, "role": entry["role"], "name": entry["name"]},
                      {"dry_run": False, "revoked": credential_id})


def add_tenant_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/v1/admin/tenants", handle_tenant_create)
    r.add_get("/v1/admin/tenants", handle_tenant_list)
    r.add_post("/v1/admin/credentials", handle_issue)
    r.add_get("/v1/admin/credentials", handle_list)
    r.add_post("/v1/admin/credentials/revoke", handle_revoke)
