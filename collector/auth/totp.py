"""Time-based one-time passwords for administrators: RFC 6238 with HMAC-SHA256 (cryptrec.md
6.11), 6 digits, 30-second steps, one step of clock skew either way.

Two rules on top of the RFC, both from the requirement that a second factor must not be
replayable or guessable:

- **Each code is accepted once**: an account remembers the last time step it accepted, and a
  code for that step or an earlier one is refused.
- **Throttling**: after ``FREE_FAILURES`` consecutive failures an account waits before its
  next attempt is even checked, doubling each time up to ``MAX_WAIT`` seconds (1,000,000
  random guesses would take years).

`pyotp` computes the codes; this module holds the decisions, as pure functions of the state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, replace

import pyotp

__all__ = [
    "DIGITS",
    "FREE_FAILURES",
    "MAX_WAIT",
    "STEP",
    "Attempt",
    "TotpState",
    "check_code",
    "new_secret",
    "provisioning_uri",
]

DIGITS = 6
STEP = 30
WINDOW = 1  # steps of clock skew tolerated either way
FREE_FAILURES = 5
FIRST_WAIT = 30.0
MAX_WAIT = 3600.0
SECRET_BYTES = 32  # 256 bits


@dataclass(frozen=True, slots=True)
class TotpState:
    """What an account remembers between attempts."""

    last_step: int = -1  # the newest time step accepted
    failures: int = 0  # consecutive failures (of the password or the code)
    last_failure: float = 0.0  # when the last one happened (seconds since the epoch)


@dataclass(frozen=True, slots=True)
class Attempt:
    ok: bool
    reason: str  # "accepted", "throttled", "replayed", "wrong"
    state: TotpState
    retry_after: float = 0.0  # seconds, when throttled


def new_secret() -> bytes:
    return os.urandom(SECRET_BYTES)


def _totp(secret: bytes) -> pyotp.TOTP:
    return pyotp.TOTP(base64.b32encode(secret).decode("ascii"), digits=DIGITS,
                      digest=hashlib.sha256, interval=STEP)


def provisioning_uri(secret: bytes, account: str, issuer: str = "chronolog") -> str:
    """The ``otpauth://`` URI for an authenticator app (it carries ``algorithm=SHA256``)."""
    return str(_totp(secret).provisioning_uri(name=account, issuer_name=issuer))


def wait_needed(state: TotpState, now: float) -> float:
    """Seconds before the next attempt may be checked (0 when it may be now)."""
    if state.failures < FREE_FAILURES:
        return 0.0
    wait: float = min(MAX_WAIT, FIRST_WAIT * 2.0 ** (state.failures - FREE_FAILURES))
    return max(0.0, state.last_failure + wait - now)


def failed(state: TotpState, now: float) -> TotpState:
    return replace(state, failures=state.failures + 1, last_failure=now)


def check_code(secret: bytes, code: str, state: TotpState, now: float,
               password_ok: bool = True) -> Attempt:
    """Decide an attempt. ``password_ok`` folds the first factor in, so a wrong password and
    a wrong code look and count the same to the caller."""
    wait = wait_needed(state, now)
    if wait > 0:
        return Attempt(False, "throttled", state, wait)
    totp = _totp(secret)
    current = int(now // STEP)
    matched = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        # Compare every candidate: the time taken does not depend on which one matches.
        if hmac.compare_digest(totp.at(step * STEP).encode(), code.strip().encode()):
            matched = step
    if not password_ok or matched is None:
        return Attempt(False, "wrong", failed(state, now))
    if matched <= state.last_step:
        return Attempt(False, "replayed", failed(state, now))
    return Attempt(True, "accepted", TotpState(last_step=matched))
