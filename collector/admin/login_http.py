"""``POST /v1/admin/login`` and ``POST /v1/admin/logout``: administrator sessions (docs/security.md).

A login checks the password and the TOTP code together (`collector.auth.login.LoginGate`);
every attempt is an audit entry. A failure says only that the name, the password or the code
was wrong, whichever it was; after repeated failures the account is throttled (429 with
``Retry-After``).
"""

from __future__ import annotations

import math

from aiohttp import web

from chronolog.timefmt import to_rfc3339
from collector.admin.audit import AUDIT
from collector.admin.endpoint import read_body
from collector.auth.access import SESSIONS, require_admin
from collector.auth.credentials import ALL_TENANTS
from collector.auth.login import LoginGate
from collector.auth.sessions import SESSION_PREFIX
from collector.http import TELEMETRY, ApiError, bearer_token, json_response

__all__ = ["LOGIN", "add_login_routes"]

LOGIN = web.AppKey("login", LoginGate)

WRONG = "wrong user name, password or code (each code is accepted once: after a failure, wait for the next)"


async def handle_login(request: web.Request) -> web.Response:
    body = await read_body(request, {"user", "password", "totp"})
    user, password, code = body.get("user"), body.get("password"), body.get("totp")
    if not all(isinstance(v, str) and v for v in (user, password, code)):
        raise ApiError(400, "bad_request", "expected 'user', 'password' and 'totp' (the 6-digit code), "
                       "each a non-empty string")
    assert isinstance(user, str) and isinstance(password, str) and isinstance(code, str)
    result = await request.app[LOGIN].attempt(user, password, code)
    request.app[TELEMETRY].admin_login(result.reason, user)
    audit = request.app[AUDIT]
    if not result.ok or result.account is None:
        await audit.record(None, "login", None, result.reason, {}, name=user)
        if result.reason == "throttled":
            wait = math.ceil(result.retry_after)
            response = json_response({"error": "throttled", "detail": f"too many failed attempts: try "
                                      f"again in {wait} s"}, 429)
            response.headers["Retry-After"] = str(wait)
            return response
        raise ApiError(401, "unauthenticated", WRONG)
    account = result.account
    token, session = request.app[SESSIONS].open(account.name, account.scope)
    expires = to_rfc3339(int(session.expires * 1_000_000), "UTC")
    await audit.record(session.principal, "login", None if account.scope == ALL_TENANTS else account.scope,
                       "done", {"expires": expires})
    return json_response({"session": token, "expires": expires, "user": account.name, "scope": account.scope})


async def handle_logout(request: web.Request) -> web.Response:
    principal = require_admin(request)
    token = bearer_token(request)
    if token is None or not token.startswith(SESSION_PREFIX):
        raise ApiError(400, "bad_request", "only a session from `chronolog admin login` can log out")
    request.app[SESSIONS].end(token)
    scope = None if principal.tenant == ALL_TENANTS else principal.tenant
    await request.app[AUDIT].record(principal, "logout", scope, "done", {})
    return json_response({"ended": True})


def add_login_routes(app: web.Application) -> None:
    app.router.add_post("/v1/admin/login", handle_login)
    app.router.add_post("/v1/admin/logout", handle_logout)
