"""`require_admin`: the one way an administrator is authenticated, always with two factors.

Either

1. a **session** from ``POST /v1/admin/login`` (password + TOTP), sent as the bearer token; or
2. an **admin client certificate** (mutual TLS) **and** an **admin bearer token**, both live
   and issued to the same name for the same scope.

One factor alone (an admin token, an admin certificate) is refused with 401 and a message
saying what else is needed. The tenant an administrator acts on is checked against its scope
by `collector.admin.endpoint.admin_scope`, which calls this.
"""

from __future__ import annotations

from aiohttp import web

from collector.auth.admins import AdminAccounts
from collector.auth.credentials import Principal
from collector.auth.sessions import SESSION_PREFIX, SessionStore
from collector.http import CREDENTIALS, TELEMETRY, ApiError, bearer_token, peer_certificate

__all__ = ["ACCOUNTS", "SESSIONS", "TWO_FACTORS", "require_admin"]

ACCOUNTS = web.AppKey("accounts", AdminAccounts)
SESSIONS = web.AppKey("sessions", SessionStore)

TWO_FACTORS = ("administration needs two factors: log in with `chronolog admin login` (password and "
               "TOTP code) and send the session, or present an admin client certificate together "
               "with an admin token")


def _refuse(request: web.Request, reason: str, detail: str, status: int = 401) -> ApiError:
    request.app[TELEMETRY].auth_failed(reason)
    return ApiError(status, "unauthenticated" if status == 401 else "forbidden", detail)


def require_admin(request: web.Request) -> Principal:
    """The administrator calling, authenticated by two factors; 401/403 otherwise."""
    token = bearer_token(request)
    if token is not None and token.startswith(SESSION_PREFIX):
        return _session(request, token)
    credentials = request.app[CREDENTIALS]
    der = peer_certificate(request)
    by_cert = credentials.authenticate_certificate(der) if der else None
    by_token = credentials.authenticate(token) if token else None
    if der and by_cert is None:
        raise _refuse(request, "invalid", "the client certificate is not a live credential")
    if token and by_token is None:
        raise _refuse(request, "invalid", "the token is not valid or has been revoked")
    if any(p is not None and p.role != "admin" for p in (by_cert, by_token)):
        raise _refuse(request, "role", "this endpoint needs an administrator", 403)
    if by_cert is None or by_token is None:
        raise _refuse(request, "single_factor", TWO_FACTORS)
    if (by_cert.name, by_cert.tenant) != (by_token.name, by_token.tenant):
        raise _refuse(request, "mismatch", "the client certificate and the token were issued to different "
                      "administrators or scopes; both factors must name the same one")
    return Principal(f"{by_cert.credential_id}+{by_token.credential_id}", by_token.tenant, "admin",
                     by_token.name)


def _session(request: web.Request, token: str) -> Principal:
    sessions = request.app[SESSIONS]
    session = sessions.get(token)
    if session is None:
        raise _refuse(request, "session", "the session has expired or ended: log in again "
                      "(`chronolog admin login`)")
    if request.app[ACCOUNTS].get(session.principal.name) is None:
        sessions.end(token)
        raise _refuse(request, "session", "the administrator's account is disabled")
    return session.principal
