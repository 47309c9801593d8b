"""``POST /console/signin`` and ``POST /console/signout``: investigators' console sessions.

A sign-in is decided exactly like an administrator's login, by the same code
(`collector.admin.login_http.attempt_login`: password and TOTP code together, each code once,
throttled, audited) against the investigators' own accounts, and opens a session of the
investigators' own store; its token goes only into an ``HttpOnly`` cookie
(`collector.console.cookies`). Both requests need their CSRF token.
"""

from __future__ import annotations

import time

from aiohttp import web

from chronolog.timefmt import to_rfc3339
from collector.admin.audit import AUDIT
from collector.admin.login_http import attempt_login, refused
from collector.auth.login import LoginGate
from collector.console.cookies import CONSOLE
from collector.http import TELEMETRY, json_response

__all__ = ["SIGNIN_GATE", "handle_signin", "handle_signout"]

SIGNIN_GATE = web.AppKey("console_signin", LoginGate)


async def handle_signin(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    console.check_signin_csrf(request)
    result = await attempt_login(request, request.app[SIGNIN_GATE], "console.signin",
                                 request.app[TELEMETRY].console_signin)
    account = result.account
    if account is None:
        return refused(result)
    token, session = console.open(account)
    expires = to_rfc3339(int(session.expires * 1_000_000), "UTC")
    await request.app[AUDIT].record(session.principal, "console.signin", account.scope, "done",
                                    {"expires": expires})
    response = json_response({"user": account.name, "expires": expires, "next": "/console/"})
    console.set_session_cookie(response, token, session, time.time())
    return response


async def handle_signout(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    _, session = console.require(request)
    console.end(request)
    who = session.principal
    await request.app[AUDIT].record(who, "console.signout", who.tenant, "done", {})
    response = json_response({"ended": True, "next": "/console/signin"})
    console.clear_session_cookie(response)
    return response
