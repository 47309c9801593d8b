"""Accounts that sign in with two factors: administrators (``<data_dir>/admins.json``) and,
for the console, investigators (``<data_dir>/investigators.json``), each file mode 0600 and
holding one role only, so the two kinds of account cannot be confused.

Each account has a name, a scope (one tenant; an administrator's may be ``*``, every tenant), a password hash
(`collector.auth.passwords`), a TOTP secret of 256 random bits that is stored only wrapped by
the master key (AES key wrap, like the tenant keys), and the TOTP state: the last time step
accepted and the failed attempts, so that a restart neither lets a code be used twice nor resets
the throttling (`collector.auth.totp`; the state's form and merge: `collector.auth.failures`).
Nothing here returns or logs a secret except `add`, which hands the new TOTP secret to the
person enrolling, once.

The collector and ``chronolog-collector admins ...`` may both write a file; every
read-modify-write holds its lock file (``admins.lock``, ``investigators.lock``). On the
JetStream store, the collectors of one cluster merge their files (`merged_accounts`,
collector/auth/shared.py); each collector records its failures under its own name
(``data_dir/collector-name``), so that they add up across the cluster.
(The class keeps its first name, `AdminAccounts`, though it holds investigators too.)
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from chronolog.fsutil import atomic_write
from collector.auth import failures
from collector.auth.credentials import ALL_TENANTS
from collector.auth.passwords import hash_password
from collector.auth.totp import TotpState, new_secret, provisioning_uri
from collector.identity import collector_name
from collector.store.keys import MasterKeys
from collector.store.names import TENANT_NAME

__all__ = ["ADMIN_NAME", "MIN_PASSWORD", "AccountError", "AccountRole", "AdminAccount", "AdminAccounts",
           "Enrolment", "merged_accounts"]

ADMIN_NAME = re.compile(r"[a-z][a-z0-9._-]{0,31}")
MIN_PASSWORD = 12
AccountRole = Literal["admin", "investigator"]
NOUN: dict[AccountRole, str] = {"admin": "administrator", "investigator": "investigator"}


class AccountError(ValueError):
    """An account request that cannot be done; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class AdminAccount:
    name: str
    scope: str  # a tenant, or ALL_TENANTS
    password: str  # pbkdf2_sha256$...
    totp_master: str  # the master key version wrapping the secret
    totp_wrapped: bytes
    state: TotpState
    created: str
    disabled: str | None

    def public(self) -> dict[str, Any]:
        """What may be shown: never the hash, the secret or its wrapped form."""
        return {"name": self.name, "scope": self.scope, "created": self.created,
                "disabled": self.disabled, "failures": self.state.failures}


@dataclass(frozen=True, slots=True)
class Enrolment:
    """Shown once, to the person enrolling an authenticator app."""

    secret: bytes
    uri: str

    @property
    def base32(self) -> str:
        return base64.b32encode(self.secret).decode("ascii")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _account(doc: dict[str, Any]) -> AdminAccount:
    return AdminAccount(
        name=str(doc["name"]), scope=str(doc["scope"]), password=str(doc["password"]),
        totp_master=str(doc["totp"]["master"]), totp_wrapped=base64.b64decode(doc["totp"]["wrapped"]),
        state=failures.throttle_view(failures.read_state(doc.get("state"))),
        created=str(doc["created"]), disabled=doc.get("disabled"),
    )


def check_new(name: str, scope: str, password: str, role: AccountRole = "admin") -> None:
    if not ADMIN_NAME.fullmatch(name):
        raise AccountError(f"invalid {NOUN[role]} name {name!r}: expected 1-32 of a-z, 0-9, '.', '_', "
                           "'-', starting with a letter")
    if role == "investigator" and not TENANT_NAME.fullmatch(scope):
        # An investigator reads one tenant: every tenant is for administrators only.
        raise AccountError("invalid tenant for an investigator: expected one tenant name (1-63 of a-z, "
                           "0-9, '-', '_', starting with a letter or digit)")
    if scope != ALL_TENANTS and not TENANT_NAME.fullmatch(scope):
        raise AccountError(f"invalid scope {scope!r}: expected a tenant name or '*' (every tenant)")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


class AdminAccounts:
    def __init__(self, path: Path, master: MasterKeys, role: AccountRole = "admin",
                 collector: str | None = None) -> None:
        self.path = path
        self.role = role
        self._master = master
        self._lock = threading.Lock()
        self._collector = collector  # whose failures this process records; read when first needed

    # ---- reading ----------------------------------------------------------------------------

    def _docs(self) -> list[dict[str, Any]]:
        try:
            doc = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return []
        docs: list[dict[str, Any]] = doc["admins"]
        return docs

    def _all(self) -> dict[str, AdminAccount]:
        """Every account, read afresh: a small file, and a disable done by another process
        must count at the next request (a cache keyed on mtime could miss a quick change)."""
        return {d["name"]: _account(d) for d in self._docs()}

    def get(self, name: str) -> AdminAccount | None:
        """The account if it exists and is not disabled."""
        account = self._all().get(name)
        return account if account is not None and account.disabled is None else None

    def accounts(self) -> list[AdminAccount]:
        return sorted(self._all().values(), key=lambda a: a.name)

    def secret(self, account: AdminAccount) -> bytes:
        """The account's TOTP secret, unwrapped (kept in memory only while checking a code)."""
        return self._master.unwrap(account.totp_master, account.totp_wrapped)

    # ---- writing ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _editing(self) -> Iterator[list[dict[str, Any]]]:
        """The account documents, saved on exit; exclusive across processes."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock:
            fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                docs = self._docs()
                before = orjson.dumps(docs)
                yield docs
                if orjson.dumps(docs) != before:
                    atomic_write(self.path, orjson.dumps({"version": 1, "admins": docs},
                                                         option=orjson.OPT_INDENT_2), mode=0o600)
            finally:
                os.close(fd)

    def add(self, name: str, scope: str, password: str) -> Enrolment:
        """Create an account; returns the TOTP secret and its ``otpauth://`` URI (show them once)."""
        check_new(name, scope, password, self.role)
        secret = new_secret()
        master_id, wrapped = self._master.wrap(secret)
        stored = hash_password(password)
        with self._editing() as docs:
            if any(d["name"] == name for d in docs):
                raise AccountError(f"an {NOUN[self.role]} {name!r} already exists")
            docs.append({"name": name, "scope": scope, "password": stored,
                         "totp": {"master": master_id, "wrapped": base64.b64encode(wrapped).decode()},
                         "state": failures.initial(),
                         "created": _now(), "disabled": None})
        issuer = "chronolog" if self.role == "admin" else "chronolog-console"
        return Enrolment(secret, provisioning_uri(secret, name, issuer))

    def disable(self, name: str) -> None:
        with self._editing() as docs:
            for d in docs:
                if d["name"] == name and d.get("disabled") is None:
                    d["disabled"] = _now()
                    return
            raise AccountError(f"no enabled {NOUN[self.role]} {name!r}")

    def disable_scope(self, tenant: str) -> list[str]:
        """Disable every account scoped to ``tenant`` (when it is erased); returns their names."""
        names = []
        with self._editing() as docs:
            for d in docs:
                if d["scope"] == tenant and d.get("disabled") is None:
                    d["disabled"] = _now()
                    names.append(d["name"])
        return names

    def rewrap(self, master: MasterKeys) -> int:
        """Re-wrap every TOTP secret under ``master``'s current version (a master key rotation,
        before the old versions are retired); returns how many."""
        with self._editing() as docs:
            for d in docs:
                secret = self._master.unwrap(d["totp"]["master"], base64.b64decode(d["totp"]["wrapped"]))
                master_id, wrapped = master.wrap(secret)
                d["totp"] = {"master": master_id, "wrapped": base64.b64encode(wrapped).decode()}
            return len(docs)

    def merge_in(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Take in another collector's accounts (`merged_accounts`); returns every account."""
        with self._editing() as mine:
            mine[:] = merged_accounts(mine, docs, self._master.current())
            return [dict(d) for d in mine]

    def record_failure(self, name: str, now: float) -> None:
        """Count a failed attempt on this collector (durably: a restart must not reset it)."""
        collector = self.collector()
        self._change_state(name, lambda state: failures.with_failure(state, collector, now))

    def record_success(self, name: str, step: int, now: float) -> None:
        """Record an accepted login with the code of time step ``step`` (durably: a crash must
        not forget a used code); it clears the failures before it, on every collector."""
        self._change_state(name, lambda state: failures.with_success(state, step, now))

    def _change_state(self, name: str, change: Callable[[failures.State], failures.State]) -> None:
        # Read in the lock: a merge from the cluster just before is kept, not overwritten.
        with self._editing() as docs:
            for d in docs:
                if d["name"] == name:
                    d["state"] = change(failures.read_state(d.get("state")))

    def collector(self) -> str:
        """The name this collector's failures are recorded under: its name in the cluster."""
        if self._collector is None:
            try:
                self._collector = collector_name(self.path.parent)
            except ValueError:
                # A damaged name file (the JetStream collector refuses to start on it): on one
                # collector the name only keeps its records apart, so any fixed one will do.
                self._collector = "local"
        return self._collector


def merged_accounts(mine: list[dict[str, Any]], theirs: list[dict[str, Any]],
                    master: str) -> list[dict[str, Any]]:
    """This collector's accounts with another's, losing nothing that protects: every account of
    both; a disable in either wins (at the earlier time, never undone); the state merged by
    `collector.auth.failures.merged_state`: the newest accepted TOTP step of either, so that a
    code used on one collector is refused on the others, and every collector's failures since
    the newest success, so that they add up to the throttle everywhere. A name enrolled on two
    collectors at once (two password hashes) keeps the earlier enrolment, the same everywhere;
    a secret re-wrapped under ``master`` (the current master key version) is taken in that
    wrapping. By name, in order, each state in its current form."""
    by_name = {str(d["name"]): {**d, "state": failures.read_state(d.get("state"))} for d in mine}
    for other in theirs:
        name = str(other["name"])
        known = by_name.get(name)
        if known is None:
            by_name[name] = {**other, "state": failures.read_state(other.get("state"))}
            continue
        disabled = [d for d in (known.get("disabled"), other.get("disabled")) if d is not None]
        state = failures.merged_state(failures.read_state(known.get("state")),
                                      failures.read_state(other.get("state")))
        if known["password"] != other["password"]:  # the name enrolled twice: the earlier stands
            if _enrolment(other) < _enrolment(known):
                known = by_name[name] = dict(other)
        elif other["totp"] != known["totp"] and other["totp"]["master"] == master:
            known["totp"] = other["totp"]
        known["disabled"] = min(disabled) if disabled else None  # whichever enrolment stands
        known["state"] = state
    return [by_name[name] for name in sorted(by_name)]


def _enrolment(doc: dict[str, Any]) -> tuple[str, str]:
    return str(doc["created"]), str(doc["password"])
