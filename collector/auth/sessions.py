"""Sessions: what a two-factor login returns, short-lived and in memory only. One store per
role: administrators' (`collector.auth.access`) and investigators' in the console
(`collector.console.cookies`), so a session of one role is unknown to the other.

A session token is shown once, at login; the collector keeps only its SHA-256. It ends when
it expires (15 minutes after the login by default, never extended), at logout, when its
account is disabled, and when the collector stops (a restart means logging in again).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import Field

from chronolog.config_loading import StrictModel
from collector.auth.credentials import Principal, Role

__all__ = ["SESSION_PREFIX", "AdminConfig", "Session", "SessionStore"]

SESSION_PREFIX = "clgs_"  # a prefix telling sessions from credentials


class AdminConfig(StrictModel):
    """Administrator logins (docs/security.md)."""

    session_seconds: int = Field(
        900, ge=1, le=8 * 3600,
        description="How long a session from `chronolog admin login` lasts, in seconds; it is "
        "never extended: log in again after it.",
    )


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal  # the store's role; credential_id is the session id (for the audit trail)
    expires: float  # seconds since the epoch


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.time, role: Role = "admin") -> None:
        self.ttl = ttl
        self.role = role
        self._clock = clock
        self._by_digest: dict[str, Session] = {}

    def open(self, name: str, scope: str) -> tuple[str, Session]:
        """A new session for account ``name``; returns the token (not kept) and the session."""
        self._expire()
        token = SESSION_PREFIX + secrets.token_urlsafe(32)
        session = Session(Principal("s_" + secrets.token_hex(6), scope, self.role, name),
                          self._clock() + self.ttl)
        self._by_digest[_digest(token)] = session
        return token, session

    def get(self, token: str) -> Session | None:
        """The live session of ``token``, or None (unknown, ended or expired)."""
        session = self._by_digest.get(_digest(token))
        if session is not None and session.expires <= self._clock():
            del self._by_digest[_digest(token)]
            return None
        return session

    def end(self, token: str) -> Session | None:
        return self._by_digest.pop(_digest(token), None)

    def end_for(self, names: set[str]) -> int:
        """End every session of these accounts; returns how many ended."""
        gone = [d for d, s in self._by_digest.items() if s.principal.name in names]
        for d in gone:
            del self._by_digest[d]
        return len(gone)

    def _expire(self) -> None:
        now = self._clock()
        for d in [d for d, s in self._by_digest.items() if s.expires <= now]:
            del self._by_digest[d]
