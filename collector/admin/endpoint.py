"""What every ``/v1/admin/...`` endpoint does around its own work, each in one place:

- **Who**: `admin_scope` authenticates the administrator with two factors
  (`collector.auth.access.require_admin`) and checks the tenant against its scope. An
  administrator of one tenant administers that tenant only; one of ``*`` names the tenant it
  acts on.
- **Guarded operations** (`GUARDED`: erase, retention changes, key rotation, restore,
  credential revocation, legal-hold release) are dry runs showing their effect unless the body
  carries ``"confirm"`` naming the target (`confirmed`).
- **Audited**: every request, dry runs and refusals included, is an entry of the audit trail
  (`collector.admin.audit`), written before the answer leaves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from collector.admin.audit import AUDIT
from collector.auth.access import require_admin
from collector.auth.credentials import ALL_TENANTS, Principal
from collector.http import TELEMETRY, ApiError, json_response, receive_body
from collector.store.local import UnknownTenant
from collector.store.names import TENANT_NAME

__all__ = ["DATA_DIR", "GUARDED", "Body", "admin_scope", "confirmed", "done", "endpoint", "read_body",
           "single_tenant"]

DATA_DIR = web.AppKey("data_dir", Path)

# Destructive or service-affecting operations (seed #11): each has a dry run, needs a
# confirmation naming its target, is audited, and counts in
# chronolog_collector_guarded_operations_total, from which the shipped alerts fire.
GUARDED = ("erase", "retention.set", "retention.apply", "keys.rotate", "keys.rotate_master", "restore",
           "credentials.revoke", "hold.release")

Body = dict[str, Any]


def admin_scope(request: web.Request, tenant: str | None) -> tuple[Principal, str]:
    """The administrator (two factors) and the tenant it acts on; 401/403/400 otherwise."""
    principal = require_admin(request)
    if tenant is None:
        if principal.tenant == ALL_TENANTS:
            raise ApiError(400, "bad_request", "name the tenant ('tenant')")
        tenant = principal.tenant
    if not isinstance(tenant, str) or not TENANT_NAME.fullmatch(tenant):
        # Not echoed: an answer repeats nothing a caller made up about other tenants.
        raise ApiError(400, "bad_request", "invalid tenant name: expected 1-63 of a-z, 0-9, '-', '_', "
                       "starting with a letter or digit")
    if principal.tenant not in (ALL_TENANTS, tenant):
        request.app[TELEMETRY].auth_failed("scope")
        raise ApiError(403, "forbidden", f"this administrator administers tenant {principal.tenant!r} only")
    return principal, tenant


def single_tenant(request: web.Request) -> str | None:
    """``?tenant=``, given at most once: a repeated parameter is refused rather than letting
    the first (or the last, as a proxy in front might) win."""
    given = request.query.getall("tenant", [])
    if len(given) > 1:
        raise ApiError(400, "bad_request", "give 'tenant' once")
    return given[0] if given else None


def confirmed(body: Body, target: str, what: str = "the tenant name") -> bool:
    """Whether the body confirms a guarded operation on ``target`` (absent: a dry run)."""
    confirm = body.get("confirm")
    if confirm is None:
        return False
    if confirm != target:
        raise ApiError(400, "bad_confirmation", f"'confirm' must repeat {what} {target!r}")
    return True


async def read_body(request: web.Request, allowed: set[str]) -> Body:
    raw = await receive_body(request)
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as e:
        raise ApiError(400, "bad_json", str(e)) from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "expected a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(400, "bad_request",
                       f"unknown field {unknown[0]!r}; expected {', '.join(sorted(allowed))}")
    return body


Handler = Callable[[web.Request, Principal, str, Body], Awaitable[web.StreamResponse]]
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def endpoint(action: str, fields: set[str] | None = None, every_tenant: bool = False) -> Callable[
        [Handler], Route]:
    """Parse, authorise and audit; ``fields`` None means a GET with ``?tenant=``. With
    ``every_tenant``, an administrator of ``*`` who names no tenant acts on all of them: the
    handler gets ``ALL_TENANTS``."""

    def wrap(handler: Handler) -> Route:
        async def run(request: web.Request) -> web.StreamResponse:
            audit = request.app[AUDIT]
            principal: Principal | None = None
            tenant: str | None = None
            try:
                if fields is None:
                    body: Body = {}
                    tenant = single_tenant(request)
                else:
                    body = await read_body(request, fields | {"tenant"})
                    tenant = body.get("tenant")
                if every_tenant and tenant is None and require_admin(request).tenant == ALL_TENANTS:
                    principal, tenant = require_admin(request), ALL_TENANTS
                else:
                    principal, tenant = admin_scope(request, tenant)
                return await handler(request, principal, tenant, body)
            except UnknownTenant as e:
                await audit.record(principal, action, _loggable(tenant), "refused", {"reason": str(e)})
                raise ApiError(404, "unknown_tenant", str(e)) from None
            except ApiError as e:
                # A tenant outside the caller's scope is not told of the attempt (it would learn
                # the caller's name): only administrators of every tenant see it.
                mine = principal is not None and principal.tenant in (ALL_TENANTS, tenant)
                details = {"status": e.status, "reason": e.detail, **({} if mine else {"asked": tenant})}
                await audit.record(principal, action, _loggable(tenant) if mine else None, "refused",
                                   details)
                raise
            except Exception as e:
                await audit.record(principal, action, _loggable(tenant), "failed",
                                   {"error": type(e).__name__})
                raise

        return run

    return wrap


def _loggable(tenant: object) -> str | None:
    """A tenant as the caller sent it, if it is a tenant name at all."""
    return tenant if isinstance(tenant, str) and TENANT_NAME.fullmatch(tenant) else None


async def done(request: web.Request, principal: Principal, action: str, tenant: str | None, outcome: str,
               details: dict[str, Any], payload: object) -> web.Response:
    """Record the outcome in the audit trail (durably), count it, then answer."""
    await request.app[AUDIT].record(principal, action, _loggable(tenant), outcome, details)
    request.app[TELEMETRY].admin_operation(action, outcome)
    return json_response(payload)
