"""The collector's API in-process (a real loopback server over a real store), called as named
callers: tokens of agents and investigators, and administrators who log in with a password and
a TOTP code."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from aiohttp.test_utils import TestClient, TestServer

from chronolog.daemon import SERVER_OPTIONS
from chronolog.wire import CONTENT_TYPE, compress, encode_batch
from collector.app import admins_path, audit_path, build_app, credentials_path, open_audit
from collector.auth.admins import AdminAccounts
from collector.auth.credentials import CredentialStore
from collector.config import CollectorConfig
from collector.store.local import LocalStore
from collector.telemetry import Telemetry
from support.admins import PASSWORD, Authenticator
from support.stores import batch, make_store

Enrol = Callable[[AdminAccounts, str, str], Authenticator]


class Admin:
    """Requests as a named caller: a token, or an administrator's session (logged in on first use)."""

    def __init__(self, client: TestClient, store: LocalStore, telemetry: Telemetry, tokens: dict[str, str],
                 config: CollectorConfig, phones: dict[str, Authenticator]) -> None:
        self.client, self.store, self.telemetry = client, store, telemetry
        self.tokens, self.config, self.phones = tokens, config, phones

    async def login(self, name: str) -> str:
        r = await self.client.post("/v1/admin/login", json={
            "user": name, "password": PASSWORD, "totp": self.phones[name].code()})
        assert r.status == 200, await r.text()
        session: str = (await r.json())["session"]
        return session

    def _headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.get(token, token)}"}

    async def _ensure(self, token: str) -> None:
        if token in self.phones and token not in self.tokens:
            self.tokens[token] = await self.login(token)

    async def get(self, path: str, token: str = "root", **params: str) -> tuple[int, Any]:
        await self._ensure(token)
        r = await self.client.get(path, params=params, headers=self._headers(token))
        body = await r.read()
        return r.status, orjson.loads(body) if r.content_type == "application/json" else body

    async def post(self, path: str, body: dict[str, Any] | bytes, token: str = "root") -> tuple[int, Any]:
        await self._ensure(token)
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        r = await self.client.post(path, data=data, headers=self._headers(token))
        return r.status, await r.json()

    async def push(self, tenant_token: str, n: int, seq: int = 0) -> int:
        body = compress(encode_batch(batch("s", seq, n)), "zstd")
        r = await self.client.post("/v1/push", data=body, headers={
            **self._headers(tenant_token), "Content-Type": CONTENT_TYPE, "Content-Encoding": "zstd"})
        return r.status

    def audit(self, action: str | None = None) -> list[dict[str, Any]]:
        """Entries of the audit trail (logins and reads left out unless ``action`` names them)."""
        entries = [orjson.loads(x) for x in audit_path(self.config).read_bytes().splitlines()]
        if action is not None:
            return [e for e in entries if e["action"] == action]
        return [e for e in entries if e["action"] not in ("login", "query", "streams")]



@asynccontextmanager
async def admin_api(tmp_path: Path, enrolled: Enrol) -> AsyncIterator[Admin]:
    """Administrators root (``*``) and carol (city); tokens city-agent, city-investigator,
    other-agent, other-investigator; 50 lines of city and 20 of other already pushed."""
    config = CollectorConfig(data_dir=tmp_path / "data")
    store = make_store(config.data_dir)
    credentials = CredentialStore(credentials_path(config))
    accounts = AdminAccounts(admins_path(config), store.master)
    phones = {"root": enrolled(accounts, "root", "*"), "carol": enrolled(accounts, "carol", "city")}
    tokens = {
        "city-agent": credentials.issue("city", "agent", "web-1")[1],
        "city-investigator": credentials.issue("city", "investigator", "ivan")[1],
        "other-agent": credentials.issue("other", "agent", "x-1")[1],
        "other-investigator": credentials.issue("other", "investigator", "oscar")[1],
    }
    telemetry = Telemetry()
    audit = open_audit(config, store.signer, telemetry)
    app = build_app(config, store, credentials, telemetry, audit, admin=store)
    server = TestServer(app)
    await server.start_server(**SERVER_OPTIONS)
    client = TestClient(server)
    await client.start_server()
    a = Admin(client, store, telemetry, tokens, config, phones)
    try:
        assert await a.push("city-agent", 50) == 200
        assert await a.push("other-agent", 20) == 200
        yield a
    finally:
        await client.close()
        store.close()


