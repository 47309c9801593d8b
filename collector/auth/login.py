"""The two-factor login decision: a password and a TOTP code for one administrator account.

- Both factors are checked on every attempt, and a wrong password counts as a failure
  exactly like a wrong code (`collector.auth.totp.check_code`), so an answer never says which
  factor was wrong.
- A name that is no (enabled) account costs the same PBKDF2 as a real one, against a dummy
  hash, and gets the same answer; such names are throttled like accounts too (in memory), so
  neither the time taken nor throttling tells whether an account exists. Those stay this
  collector's (they protect no account; sharing them would let anyone fill the cluster's copy).
- An account's failures and successes are recorded as events (`AdminAccounts.record_failure`,
  `record_success`), not as a state written back: on the JetStream store the file also takes
  in other collectors' failures and successes, which a write-back could undo
  (`collector.auth.failures`).
- One attempt is decided at a time: a code cannot be accepted twice by racing two logins, and
  PBKDF2 (about half a second of one core) never runs for several attempts at once, so a
  flood of logins cannot starve ingest.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from collector.auth.admins import AdminAccount, AdminAccounts
from collector.auth.passwords import hash_password, verify_password
from collector.auth.totp import TotpState, check_code, failed, wait_needed
from collector.store.crypto import Unreadable

__all__ = ["LoginGate", "LoginResult"]

log = logging.getLogger("collector.auth")

MAX_UNKNOWN = 10_000  # names remembered for throttling that are no account


@dataclass(frozen=True, slots=True)
class LoginResult:
    ok: bool
    reason: str  # "accepted", "wrong", "replayed", "throttled"
    account: AdminAccount | None = None
    retry_after: float = 0.0


class LoginGate:
    def __init__(self, accounts: AdminAccounts, clock: Callable[[], float] = time.time) -> None:
        self.accounts = accounts
        self._clock = clock
        self._lock = asyncio.Lock()
        self._unknown: OrderedDict[str, TotpState] = OrderedDict()
        self._dummy: str | None = None

    async def attempt(self, user: str, password: str, code: str) -> LoginResult:
        async with self._lock:
            account = self.accounts.get(user)
            state = account.state if account is not None else self._unknown.get(user, TotpState())
            now = self._clock()
            wait = wait_needed(state, now)
            if wait > 0:
                return LoginResult(False, "throttled", None, wait)
            stored = account.password if account is not None else await self._dummy_hash()
            password_ok = await asyncio.to_thread(verify_password, password, stored)
            if account is None:
                self._remember(user, failed(state, now))
                return LoginResult(False, "wrong")
            try:
                secret = self.accounts.secret(account)
            except Unreadable:
                # The master key that wrapped it is gone (replaced rather than rotated): the
                # operator's to fix (docs/security.md); the caller learns nothing more.
                log.error("an administrator's TOTP secret cannot be unwrapped with the master key",
                          extra={"user": account.name})
                return LoginResult(False, "wrong")
            decided = check_code(secret, code, state, now, password_ok)
            if decided.ok:
                await asyncio.to_thread(self.accounts.record_success, account.name,
                                        decided.state.last_step, now)
            elif decided.reason != "throttled":
                await asyncio.to_thread(self.accounts.record_failure, account.name, now)
            return LoginResult(decided.ok, decided.reason, account if decided.ok else None,
                               decided.retry_after)

    async def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = await asyncio.to_thread(hash_password, secrets.token_urlsafe(16))
        return self._dummy

    def _remember(self, user: str, state: TotpState) -> None:
        self._unknown[user] = state
        self._unknown.move_to_end(user)
        while len(self._unknown) > MAX_UNKNOWN:
            self._unknown.popitem(last=False)
