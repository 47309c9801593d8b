"""``/v1/admin/investigators``: the accounts investigators sign in to the console with.

Like administrators' accounts (a password and a TOTP code, `collector.auth.admins`), kept in
a file of their own (``investigators.json``), each bound to one tenant. Made, listed and
disabled by an administrator of that tenant (or of every tenant) through its two factors,
every call an audit entry (`collector.admin.endpoint`). The TOTP secret is in the answer to
``add`` once and nowhere else: not in the audit trail, not in a log. The password is the one
the investigator chose at the administrator's prompt (``chronolog admin investigators add``).
Disabling an account ends its console sessions at once.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from collector.admin.endpoint import Body, done, endpoint
from collector.admin.http import ADMIN_STORE
from collector.auth.admins import AccountError
from collector.auth.credentials import ALL_TENANTS, Principal
from collector.console.cookies import CONSOLE
from collector.http import ApiError

__all__ = ["add_investigator_routes"]


@endpoint("investigators.add", {"name", "password"})
async def handle_add(request: web.Request, principal: Principal, tenant: str, body: Body) -> web.Response:
    name, password = body.get("name"), body.get("password")
    if not isinstance(name, str) or not isinstance(password, str):
        raise ApiError(400, "bad_request", "expected 'name' and 'password', each a string")
    if tenant not in request.app[ADMIN_STORE].tenants():
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant!r}: create it first "
                       f"(`chronolog admin tenant create {tenant}`)")
    try:
        enrolment = await asyncio.to_thread(request.app[CONSOLE].accounts.add, name, tenant, password)
    except AccountError as e:
        raise ApiError(400, "bad_request", str(e)) from None
    return await done(request, principal, "investigators.add", tenant, "done", {"account": name},
                      {"name": name, "tenant": tenant, "uri": enrolment.uri, "secret": enrolment.base32})


@endpoint("investigators.list", every_tenant=True)
async def handle_list(request: web.Request, principal: Principal, tenant: str, _: Body) -> web.Response:
    shown = [a.public() for a in request.app[CONSOLE].accounts.accounts() if tenant in (ALL_TENANTS, a.scope)]
    for account in shown:
        account["tenant"] = account.pop("scope")
    return await done(request, principal, "investigators.list", tenant, "done", {"investigators": len(shown)},
                      {"investigators": shown})


@endpoint("investigators.disable", {"name"}, every_tenant=True)
async def handle_disable(request: web.Request, principal: Principal, tenant: str, body: Body) -> web.Response:
    name = body.get("name")
    console = request.app[CONSOLE]
    account = console.accounts.get(name) if isinstance(name, str) else None
    if account is None or tenant not in (ALL_TENANTS, account.scope):
        # Another tenant's investigator is not even confirmed to exist.
        raise ApiError(404, "unknown_investigator", "no enabled investigator of that name in this "
                       "administrator's scope")
    await asyncio.to_thread(console.accounts.disable, account.name)
    ended = console.end_for({account.name})
    return await done(request, principal, "investigators.disable", account.scope, "done",
                      {"account": account.name, "sessions_ended": ended},
                      {"disabled": account.name, "sessions_ended": ended})


def add_investigator_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/v1/admin/investigators", handle_add)
    r.add_get("/v1/admin/investigators", handle_list)
    r.add_post("/v1/admin/investigators/disable", handle_disable)
