"""Administrator logins on a real loopback server (in-process) over a real store: both factors,
each code once, throttling that survives a restart, sessions that end, and one factor alone
refused. (The certificate-and-token path runs over real mutual TLS in tests/e2e.)"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from support.admins import PASSWORD, Authenticator
from support.stores import make_store, master_keys

from chronolog.daemon import SERVER_OPTIONS
from collector.app import admins_path, audit_path, build_app, credentials_path, open_audit
from collector.auth.access import SESSIONS
from collector.auth.admins import AdminAccounts
from collector.auth.credentials import CredentialStore
from collector.auth.sessions import SessionStore
from collector.auth.totp import FREE_FAILURES
from collector.config import CollectorConfig
from collector.telemetry import Telemetry

Enrol = Callable[[AdminAccounts, str, str], Authenticator]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def collector(config: CollectorConfig,
                    sessions: SessionStore | None = None) -> AsyncIterator[TestClient]:
    """The collector's API over the data directory in ``config``: entering twice is a restart."""
    store = make_store(config.data_dir)
    app = build_app(config, store, CredentialStore(credentials_path(config)), Telemetry(),
                    open_audit(config, store.signer), admin=store)
    if sessions is not None:
        app[SESSIONS] = sessions
    server = TestServer(app)
    await server.start_server(**SERVER_OPTIONS)
    client = TestClient(server)
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        store.close()


@pytest.fixture
def config(tmp_path: Path) -> CollectorConfig:
    return CollectorConfig(data_dir=tmp_path / "data")


@pytest.fixture
def phone(config: CollectorConfig, enrolled: Enrol) -> Authenticator:
    return enrolled(AdminAccounts(admins_path(config), master_keys(config.data_dir)), "root", "*")


async def login(client: TestClient, code: str, user: str = "root",
                password: str = PASSWORD) -> tuple[int, Any]:
    r = await client.post("/v1/admin/login", json={"user": user, "password": password, "totp": code})
    return r.status, await r.json()


async def keys(client: TestClient, token: str) -> tuple[int, Any]:
    r = await client.get("/v1/admin/keys", params={"tenant": "city"},
                         headers={"Authorization": f"Bearer {token}"})
    return r.status, await r.json()


def wrong(phone: Authenticator) -> str:
    """A code that is none of those the collector would accept now."""
    step = int(time.time() // 30)
    valid = {phone.code_at(s) for s in range(step - 2, step + 3)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in valid)


def logins(config: CollectorConfig) -> list[str]:
    entries = [orjson.loads(x) for x in audit_path(config).read_bytes().splitlines()]
    return [e["outcome"] for e in entries if e["action"] == "login"]


async def test_password_and_code_open_a_session_that_administers(config: CollectorConfig,
                                                                  phone: Authenticator) -> None:
    async with collector(config) as client:
        status, answer = await login(client, phone.code())
        assert status == 200 and answer["user"] == "root" and answer["scope"] == "*"
        assert answer["session"].startswith("clgs_")
        status, body = await keys(client, answer["session"])
        assert (status, body["error"]) == (404, "unknown_tenant")  # authenticated; no tenant city yet
    stored = admins_path(config).read_text()
    assert answer["session"] not in stored and answer["session"] not in audit_path(config).read_text()
    assert PASSWORD not in stored and phone.secret_b32 not in stored
    assert oct(admins_path(config).stat().st_mode & 0o777) == "0o600"


async def test_a_code_is_accepted_once_even_after_a_restart(config: CollectorConfig,
                                                           phone: Authenticator) -> None:
    code = phone.code()
    async with collector(config) as client:
        assert (await login(client, code))[0] == 200
        status, body = await login(client, code)
        assert status == 401 and "wrong user name, password or code" in body["detail"]
    async with collector(config) as client:  # the last step used is on disk
        assert (await login(client, code))[0] == 401
    assert logins(config) == ["done", "replayed", "replayed"]


async def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(config: CollectorConfig,
                                                                         phone: Authenticator) -> None:
    async with collector(config) as client:
        wrong_password = await login(client, phone.code(), password="not the password")  # the right code
        unknown_user = await login(client, "123456", user="mallory")
        wrong_code = await login(client, wrong(phone))
    assert wrong_password == unknown_user == wrong_code
    assert wrong_password[0] == 401


async def test_repeated_failures_are_throttled_and_stay_throttled_across_a_restart(
        config: CollectorConfig, phone: Authenticator) -> None:
    async with collector(config) as client:
        for _ in range(FREE_FAILURES):
            assert (await login(client, wrong(phone)))[0] == 401
        r = await client.post("/v1/admin/login", json={"user": "root", "password": PASSWORD,
                                                        "totp": phone.code()})
        assert r.status == 429 and int(r.headers["Retry-After"]) > 0
        assert "try again in" in (await r.json())["detail"]
    async with collector(config) as client:
        assert (await login(client, phone.code()))[0] == 429  # right password and code: still waiting
    assert logins(config) == ["wrong"] * FREE_FAILURES + ["throttled", "throttled"]


async def test_unknown_names_are_throttled_like_accounts(config: CollectorConfig,
                                                        phone: Authenticator) -> None:
    async with collector(config) as client:
        for _ in range(FREE_FAILURES):
            assert (await login(client, "123456", user="mallory"))[0] == 401
        assert (await login(client, "123456", user="mallory"))[0] == 429


async def test_a_session_ends_when_it_expires_at_logout_and_when_the_account_is_disabled(
        config: CollectorConfig, phone: Authenticator, enrolled: Enrol) -> None:
    dave = enrolled(AdminAccounts(admins_path(config), master_keys(config.data_dir)), "dave", "*")
    clock = Clock()
    async with collector(config, SessionStore(900, clock)) as client:
        token = (await login(client, phone.code()))[1]["session"]
        other = (await login(client, phone.code()))[1]["session"]
        r = await client.post("/v1/admin/logout", headers={"Authorization": f"Bearer {token}"})
        assert r.status == 200
        assert (await keys(client, token))[0] == 401
        assert (await keys(client, other))[0] == 404  # the other session lives on

        daves = (await login(client, dave.code(), user="dave"))[1]["session"]
        # What `chronolog-collector admins disable root` does, beside the running collector:
        AdminAccounts(admins_path(config), master_keys(config.data_dir)).disable("root")
        assert (await keys(client, other))[0] == 401
        assert (await login(client, phone.code_at(phone.used)))[0] == 401

        clock.now += 899
        assert (await keys(client, daves))[0] == 404
        clock.now += 2
        status, body = await keys(client, daves)
        assert status == 401 and "log in again" in body["detail"]
    # root's last attempt failed as for no account at all, not for the replayed code.
    assert logins(config) == ["done", "done", "done", "wrong"]


async def test_one_admin_factor_alone_is_refused_with_what_else_is_needed(config: CollectorConfig,
                                                                         phone: Authenticator) -> None:
    token = CredentialStore(credentials_path(config)).issue("*", "admin", "root")[1]
    async with collector(config) as client:
        status, body = await keys(client, token)
    assert status == 401 and "two factors" in body["detail"] and "chronolog admin login" in body["detail"]


async def test_an_admin_session_reads_no_logs_and_pushes_nothing(config: CollectorConfig,
                                                                 phone: Authenticator) -> None:
    async with collector(config) as client:
        token = (await login(client, phone.code()))[1]["session"]
        headers = {"Authorization": f"Bearer {token}"}
        r = await client.get("/v1/query", params={"since": "2026-01-01T00:00:00Z",
                                                  "until": "2027-01-01T00:00:00Z"}, headers=headers)
        assert r.status == 403 and "admin API only" in (await r.json())["detail"]
        r = await client.post("/v1/push", data=b"x", headers=headers)
        assert r.status == 403
