"""Helpers every collector handler uses: typed JSON errors and the credential check."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from chronolog.tls import TLS12_SUITES, TLS13_SUITES, Level
from collector.auth.credentials import CredentialStore, Principal, Role
from collector.auth.sessions import SESSION_PREFIX
from collector.store import NotSupported
from collector.telemetry import Telemetry

__all__ = ["BODY_TIMEOUT", "COOKIE_SESSIONS", "CREDENTIALS", "MAX_BODY", "TELEMETRY", "ApiError",
           "CookieSessions", "Handler", "bearer_token", "cipher_guard", "error_middleware", "json_response",
           "peer_certificate", "receive_body", "require"]

log = logging.getLogger("collector.http")

CREDENTIALS = web.AppKey("credentials", CredentialStore)
TELEMETRY = web.AppKey("telemetry", Telemetry)
BODY_TIMEOUT = web.AppKey("body_timeout", float)
MAX_BODY = web.AppKey("max_body", int)  # bytes; a pushed batch's limit after decompression too


class CookieSessions(Protocol):
    """Investigators signed in to the console (`collector.console.cookies.ConsoleSessions`)."""

    def api_principal(self, request: web.Request) -> Principal | None:
        """The investigator a session cookie names, if the request carries one (and its CSRF
        token: raises ApiError otherwise); None without a cookie."""


COOKIE_SESSIONS = web.AppKey("cookie_sessions", CookieSessions)


class ApiError(Exception):
    """Ends a request with ``{"error": kind, "detail": detail}``, ``status`` and ``headers``."""

    def __init__(self, status: int, kind: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail
        self.headers = headers or {}


def json_response(payload: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as typed JSON; an unexpected one is logged, never shown."""
    try:
        return await handler(request)
    except ApiError as e:
        response = json_response({"error": e.kind, "detail": e.detail}, e.status)
        response.headers.update(e.headers)
        return response
    except NotSupported as e:
        return json_response({"error": "not_supported", "detail": str(e)}, 501)
    except web.HTTPRequestEntityTooLarge as e:
        return json_response({"error": "too_large", "detail": e.text or "body too large"}, 413)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        kind = (e.reason or "error").lower().replace(" ", "_")
        return json_response({"error": kind, "detail": e.reason}, e.status)
    except Exception:
        log.exception("request failed", extra={"path": request.path})
        return json_response({"error": "internal", "detail": "internal error; see the collector log"}, 500)


async def receive_body(request: web.Request) -> bytes:
    """The request body, whole, within the app's ``BODY_TIMEOUT`` (408 past it) and its
    ``client_max_size`` (413, at once when ``Content-Length`` says so). Every handler reads
    its body here: a client that promises bytes it does not send holds no connection long
    (issue 16; the head has its own time-out, `chronolog.daemon.start_site`)."""
    limit = request.app[MAX_BODY]
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "too_large", f"the body is larger than {limit} bytes")
    seconds = request.app[BODY_TIMEOUT]
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except TimeoutError:
        raise ApiError(408, "body_timeout", f"the body did not arrive within {seconds:g} s") from None


def cipher_guard(level: Level) -> Middleware:
    """Refuse a request on a connection whose suite is outside the policy. OpenSSL already
    refuses such handshakes under the policy profile; this is defence in depth."""
    allowed = set(TLS13_SUITES[level]) | set(TLS12_SUITES[level])

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        cipher = request.transport.get_extra_info("cipher") if request.transport else None
        if cipher is None or cipher[0] not in allowed:
            request.app[TELEMETRY].auth_failed("cipher")
            raise ApiError(403, "forbidden", "connection cipher is outside the TLS policy")
        return await handler(request)

    return guard


def peer_certificate(request: web.Request) -> bytes | None:
    """The client certificate (DER) presented on this connection, already verified by TLS."""
    ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return der or None


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def basic_password(request: web.Request) -> str | None:
    """The password of HTTP Basic credentials: the token, for clients that offer only Basic
    (Loki's). Accepted only where `require` is asked to (``basic=True``)."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        _, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return password or None


def _authenticate(request: web.Request, basic: bool = False) -> Principal:
    """A client certificate (mutual TLS) if one was presented, else the bearer token, else the
    console's session cookie (which needs its CSRF token too)."""
    telemetry = request.app[TELEMETRY]
    der = peer_certificate(request)
    if der:
        principal = request.app[CREDENTIALS].authenticate_certificate(der)
        if principal is None:
            telemetry.auth_failed("invalid")
            raise ApiError(401, "unauthenticated", "the client certificate is not a live credential")
        return principal
    token = bearer_token(request) or (basic_password(request) if basic else None)
    sessions = request.app.get(COOKIE_SESSIONS)
    if token is None and sessions is not None and (principal := sessions.api_principal(request)) is not None:
        return principal
    if token is None:
        telemetry.auth_failed("missing")
        raise ApiError(401, "unauthenticated", "send 'Authorization: Bearer <token>' or a client certificate")
    if token.startswith(SESSION_PREFIX):
        telemetry.auth_failed("role")
        raise ApiError(403, "forbidden", "an administrator's session is for the admin API only")
    principal = request.app[CREDENTIALS].authenticate(token)
    if principal is None:
        telemetry.auth_failed("invalid")
        raise ApiError(401, "unauthenticated", "the token is not valid or has been revoked")
    return principal


def require(request: web.Request, role: Role, basic: bool = False) -> Principal:
    """The caller's principal if its credential is live and has ``role``; else 401/403.
    (Administrators authenticate with two factors instead: `collector.auth.access.require_admin`.)"""
    if role == "admin":
        raise AssertionError("use collector.auth.access.require_admin: administrators need two factors")
    telemetry = request.app[TELEMETRY]
    principal = _authenticate(request, basic)
    if principal.role != role:
        telemetry.auth_failed("role")
        raise ApiError(403, "forbidden", f"this endpoint needs a credential with role {role!r}")
    return principal
