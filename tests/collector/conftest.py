"""Administrator accounts for in-process API tests; real NATS clusters for the JetStream store's."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from support.adminapi import Admin, admin_api
from support.admins import PASSWORD, Authenticator
from support.nats import NatsCluster

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


@pytest.fixture
async def admin(tmp_path: Path, enrolled: Callable[[AdminAccounts, str, str], Authenticator]
                ) -> AsyncIterator[Admin]:
    """The API in-process with administrators, tokens and lines of two tenants (support.adminapi)."""
    async with admin_api(tmp_path, enrolled) as api:
        yield api


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """A 3-node NATS cluster shared by a module's tests (each uses a prefix of its own)."""
    nats = NatsCluster(tmp_path_factory.mktemp("nats")).start()
    yield nats
    nats.stop()


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """A cluster of the test's own, for a test that kills or stops its servers."""
    nats = NatsCluster(tmp_path / "nats").start()
    yield nats
    nats.stop()
