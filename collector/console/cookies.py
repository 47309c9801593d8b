"""The console's sign-in state in the browser: the session cookie and the CSRF tokens.

- A sign-in opens an investigator session (`collector.auth.sessions.SessionStore` with role
  ``investigator``: a store of its own, so no administrator route knows it). Its token lives
  only in the cookie ``__Host-chronolog-session``: ``HttpOnly`` (no script reads it),
  ``Secure``, ``SameSite=Strict``, ``Path=/``, and ``Max-Age`` the session's life, which is
  never extended.
- **CSRF**: every request the cookie authenticates, except the navigation to a page (a GET
  that changes nothing), must carry ``X-CSRF-Token``: an HMAC of the session token under a key
  of this process, given to the page in a ``<meta>`` element. A page of another site can
  neither send the cookie (SameSite) nor know the token, and cannot set the header without a
  CORS preflight that the collector never grants. The sign-in itself, before any session, is
  protected the same way by a random token in a second cookie (``__Host-chronolog-signin``)
  that the header must repeat (a "double submit"), so no other site can sign a browser in to
  an account of its choosing.
- The API routes an investigator may use (``/v1/query``, ``/v1/hosts``, ...) accept the cookie
  through `collector.http.COOKIE_SESSIONS`, always with the CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from http.cookies import SimpleCookie

from aiohttp import web

from collector.auth.admins import AdminAccount, AdminAccounts
from collector.auth.credentials import Principal
from collector.auth.sessions import Session, SessionStore
from collector.http import TELEMETRY, ApiError

__all__ = ["CONSOLE", "CSRF_HEADER", "EXPIRED", "SESSION_COOKIE", "SIGNIN_COOKIE", "ConsoleSessions"]

SESSION_COOKIE = "__Host-chronolog-session"
SIGNIN_COOKIE = "__Host-chronolog-signin"
CSRF_HEADER = "X-CSRF-Token"
SIGNIN_SECONDS = 900  # the sign-in page's token: time enough to type a password and a code

EXPIRED = "the console session has expired or ended: sign in again at /console/signin"
NO_CSRF = f"a request signed in by the console's cookie needs its {CSRF_HEADER} header"


def _cookie(name: str, value: str, max_age: int) -> str:
    morsel = SimpleCookie()
    morsel[name] = value
    m = morsel[name]
    m["path"] = "/"
    m["max-age"] = max_age
    m["secure"] = True
    m["httponly"] = True
    m["samesite"] = "Strict"
    return m.OutputString()


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class ConsoleSessions:
    """Investigators' console sessions, and what ties a browser's requests to one."""

    def __init__(self, accounts: AdminAccounts, ttl: float) -> None:
        self.accounts = accounts
        self.store = SessionStore(ttl, role="investigator")
        self._key = secrets.token_bytes(32)  # sessions live in memory: so may this key

    # ---- sessions ------------------------------------------------------------------------

    def open(self, account: AdminAccount) -> tuple[str, Session]:
        return self.store.open(account.name, account.scope)

    def current(self, request: web.Request) -> tuple[str, Session] | None:
        """The live session the request's cookie names (its account still enabled), or None."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        session = self.store.get(token)
        if session is None:
            return None
        if self.accounts.get(session.principal.name) is None:
            self.store.end(token)  # the account was disabled since the sign-in
            return None
        return token, session

    def end(self, request: web.Request) -> Session | None:
        token = request.cookies.get(SESSION_COOKIE)
        return self.store.end(token) if token else None

    def end_for(self, names: set[str]) -> int:
        return self.store.end_for(names)

    # ---- CSRF ------------------------------------------------------------------------------

    def csrf(self, token: str) -> str:
        """The CSRF token of a session (its token is never shown to a script)."""
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, request: web.Request, token: str) -> None:
        if not _same(request.headers.get(CSRF_HEADER), self.csrf(token)):
            request.app[TELEMETRY].auth_failed("csrf")
            raise ApiError(403, "csrf", NO_CSRF)

    @staticmethod
    def check_signin_csrf(request: web.Request) -> None:
        """The sign-in form's double submit: the header repeats the sign-in cookie."""
        expected = request.cookies.get(SIGNIN_COOKIE)
        if not expected or not _same(request.headers.get(CSRF_HEADER), expected):
            request.app[TELEMETRY].auth_failed("csrf")
            raise ApiError(403, "csrf", f"sign in from the console's sign-in page (/console/signin): the "
                           f"{CSRF_HEADER} header must repeat its token")

    def require(self, request: web.Request) -> tuple[str, Session]:
        """The live session of a request that changes something or reads: 401 without one,
        403 without its CSRF token."""
        current = self.current(request)
        if current is None:
            request.app[TELEMETRY].auth_failed("session")
            raise ApiError(401, "unauthenticated", EXPIRED)
        self.check_csrf(request, current[0])
        return current

    def api_principal(self, request: web.Request) -> Principal | None:
        """`collector.http.CookieSessions`: the investigator of the cookie, CSRF checked."""
        if SESSION_COOKIE not in request.cookies:
            return None
        return self.require(request)[1].principal

    # ---- cookies --------------------------------------------------------------------------

    @staticmethod
    def set_session_cookie(response: web.StreamResponse, token: str, session: Session, now: float) -> None:
        response.headers.add("Set-Cookie", _cookie(SESSION_COOKIE, token, max(1, int(session.expires - now))))
        response.headers.add("Set-Cookie", _cookie(SIGNIN_COOKIE, "", 0))

    @staticmethod
    def clear_session_cookie(response: web.StreamResponse) -> None:
        response.headers.add("Set-Cookie", _cookie(SESSION_COOKIE, "", 0))

    @staticmethod
    def set_signin_cookie(response: web.StreamResponse, token: str) -> None:
        response.headers.add("Set-Cookie", _cookie(SIGNIN_COOKIE, token, SIGNIN_SECONDS))


CONSOLE = web.AppKey("console", ConsoleSessions)
