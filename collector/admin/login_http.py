"""``POST /v1/admin/login`` and ``POST /v1/admin/logout``: administrator sessions (docs/security.md).

A login checks the password and the TOTP code together (`collector.auth.login.LoginGate`);
every attempt is an audit entry. A failure says only that the name, the password or the code
was wrong, whichever it was; after repeated failures the account is throttled (429 with
``Retry-After``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from aiohttp import web

from chronolog.timefmt import to_rfc3339
from collector.admin.audit import AUDIT
from collector.admin.endpoint import read_body
from collector.auth.access import SESSIONS, require_admin
from collector.auth.credentials import ALL_TENANTS
from collector.auth.login import LoginGate, LoginResult
from collector.auth.sessions import SESSION_PREFIX
from collector.http import TELEMETRY, ApiError, bearer_token, json_response

__all__ = ["LOGIN", "add_login_routes", "attempt_login", "refused"]

LOGIN = web.AppKey("login", LoginGate)

WRONG = "wrong user name, password or code (each code is accepted once: after a failure, wait for the next)"


async def attempt_login(request: web.Request, gate: LoginGate, action: str,
                        count: Callable[[str, str], None]) -> LoginResult:
    """Read ``user``, ``password`` and ``totp`` and decide them with ``gate``; every attempt is
    counted, and a failed one is an audit entry ``action`` naming the account tried. Shared by
    the administrators' login and the console's sign-in (`collector.console.signin`)."""
    body = await read_body(request, {"user", "password", "totp"})
    user, password, code = body.get("user"), body.get("password"), body.get("totp")
    if not all(isinstance(v, str) and v for v in (user, password, code)):
        raise ApiError(400, "bad_request", "expected 'user', 'password' and 'totp' (the 6-digit code), "
                       "each a non-empty string")
    assert isinstance(user, str) and isinstance(password, str) and isinstance(code, str)
    result = await gate.attempt(user, password, code)
    count(result.reason, user)
    if not result.ok or result.account is None:
        await request.app[AUDIT].record(None, action, None, result.reason, {}, name=user)
    return result


def refused(result: LoginResult) -> web.Response:
    """The answer to a failed attempt: 429 with ``Retry-After`` when throttled, else 401 that
    does not say which factor was wrong."""
    if result.reason == "throttled":
        wait = math.ceil(result.retry_after)
        response = json_response({"error": "throttled", "detail": f"too many failed attempts: try "
                                  f"again in {wait} s"}, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    raise ApiError(401, "unauthenticated", WRONG)


async def handle_login(request: web.Request) -> web.Response:
    result = await attempt_login(request, request.app[LOGIN], "login", request.app[TELEMETRY].admin_login)
    account = result.account
    if account is None:
        return refused(result)
    token, session = request.app[SESSIONS].open(account.name, account.scope)
    expires = to_rfc3339(int(session.expires * 1_000_000), "UTC")
    await request.app[AUDIT].record(session.principal, "login",
                                    None if account.scope == ALL_TENANTS else account.scope,
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
