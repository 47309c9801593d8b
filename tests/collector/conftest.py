"""Administrator accounts for in-process API tests."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest
from support.admins import PASSWORD, Authenticator

import collector.auth.admins as admins_module
from collector.auth.admins import AdminAccounts
from collector.auth.passwords import hash_password

# The 600,000-iteration hash of the test password, made once per run (every login still
# verifies it in full).
_hash_once = functools.cache(hash_password)


@pytest.fixture
def enrolled(monkeypatch: pytest.MonkeyPatch) -> Callable[[AdminAccounts, str, str], Authenticator]:
    """Enrol an administrator with the test password; returns its authenticator."""
    monkeypatch.setattr(admins_module, "hash_password", _hash_once)

    def enrol(accounts: AdminAccounts, name: str, scope: str) -> Authenticator:
        return Authenticator(accounts.add(name, scope, PASSWORD).base32)

    return enrol
