"""``GET /v1/export`` on a real loopback server (in-process) with a real store: the WAL is
sealed first so every line is proved, the bundle verifies with the store's key, each export
is in the audit trail, and callers get their own tenant's lines only."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from support.stores import make_store

from chronolog.daemon import SERVER_OPTIONS
from chronolog.evidence.verify import verify_bundle
from chronolog.timefmt import parse_rfc3339
from chronolog.wire import CONTENT_TYPE, Batch, Chunk, ClockView, compress, encode_batch
from collector.admin.audit import AuditTrail
from collector.app import build_app, credentials_path, open_audit
from collector.auth.credentials import CredentialStore
from collector.config import CollectorConfig
from collector.store.local import LocalStore
from collector.telemetry import Telemetry

T0 = parse_rfc3339("2026-11-27T09:00:00+09:00")
DAY = {"since": "2026-11-27T00:00:00+09:00", "until": "2026-11-28T00:00:00+09:00"}


class Api:
    def __init__(self, client: TestClient, store: LocalStore, audit: AuditTrail,
                 tokens: dict[str, str]) -> None:
        self.client, self.store, self.audit, self.tokens = client, store, audit, tokens

    async def push(self, batch: Batch, token: str = "agent") -> None:
        headers = {"Authorization": f"Bearer {self.tokens[token]}", "Content-Type": CONTENT_TYPE,
                   "Content-Encoding": "zstd"}
        body = compress(encode_batch(batch), "zstd")
        response = await self.client.post("/v1/push", data=body, headers=headers)
        assert response.status == 200, await response.text()

    async def export(self, token: str = "investigator", **params: Any) -> tuple[int, bytes, dict[str, str]]:
        headers = {"Authorization": f"Bearer {self.tokens.get(token, token)}"}
        response = await self.client.get("/v1/export", params={**DAY, **params}, headers=headers)
        return response.status, await response.read(), dict(response.headers)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    config = CollectorConfig(data_dir=tmp_path)
    store = make_store(tmp_path)
    credentials = CredentialStore(credentials_path(config))
    tokens = {
        "agent": credentials.issue("city", "agent", "web-1")[1],
        "investigator": credentials.issue("city", "investigator", "alice")[1],
        "other-investigator": credentials.issue("other", "investigator", "bob")[1],
    }
    audit = open_audit(config, store.signer)
    app = build_app(config, store, credentials, Telemetry(), audit, evidence=store)
    server = TestServer(app)
    await server.start_server(**SERVER_OPTIONS)
    client = TestClient(server)
    await client.start_server()
    yield Api(client, store, audit, tokens)
    await client.close()
    store.close()


def lines(host: str, stream: str, seq: int, minutes: list[int], text: str) -> Batch:
    n = len(minutes)
    chunk = Chunk(stream, seq, T0, ClockView(offset=0.001, bound=0.004, status="ok"),
                  [f"{text} {seq + i}" for i in range(n)], [T0 + m * 60_000_000 for m in minutes],
                  ["explicit"] * n, [None] * n)
    return Batch(f"agent-{host}", host, "Asia/Tokyo", T0, [chunk])


async def test_an_export_seals_first_proves_every_line_and_is_audited(api: Api) -> None:
    await api.push(lines("web-1", "file:/a.log", 0, [1, 2, 3, 30], "login failed"))
    await api.push(lines("web-2", "file:/b.log", 0, [2, 4], "login failed"))
    await api.push(lines("web-1", "clock", 0, [0, 5, 10], "clock sample"))
    status, data, headers = await api.export(grep="login", zone="UTC", until="2026-11-27T09:10:00+09:00")
    assert status == 200, data
    assert headers["Content-Type"] == "application/vnd.chronolog.evidence+x-ndjson"
    assert headers["X-Chronolog-Export-Sha256"] == hashlib.sha256(data).hexdigest()
    report = verify_bundle(data, api.store.signer.public)
    assert report.clean, report.findings
    # Nothing was sealed before the export: it sealed the WAL, so every record is proved.
    assert (report.matches, report.exported, report.proven, report.unproven) == (5, 8, 8, [])
    manifest = orjson.loads(data.split(b"\n", 1)[0])
    assert manifest["query"]["zone"] == "UTC" and manifest["query"]["text"]["grep"] == ["login"]
    assert (manifest["by"]["name"], manifest["by"]["role"]) == ("alice", "investigator")
    [entry] = [e for e in api.audit.entries() if e["action"] == "export"]
    assert (entry["tenant"], entry["name"], entry["outcome"]) == ("city", "alice", "done")
    details = entry["details"]
    assert (details["lines"], details["hits"], details["clock_records"], details["unproven"]) == (5, 5, 3, 0)
    assert details["complete"] is True
    assert details["sha256"] == hashlib.sha256(data).hexdigest() and details["bytes"] == len(data)
    assert details["params"]["grep"] == ["login"]


async def test_bad_requests_are_refused_named_and_audited(api: Api) -> None:
    status, data, _ = await api.export(clock_margin="a day")
    assert status == 400 and b"clock_margin" in data
    status, data, _ = await api.export(tenant="other")
    assert status == 400 and b"unknown parameter 'tenant'" in data
    status, data, _ = await api.export(cursor="x")
    assert status == 400 and b"cursor" in data
    status, _, _ = await api.export(token="agent")
    assert status == 403
    refusals = [e for e in api.audit.entries() if e["action"] == "export"]
    assert [e["outcome"] for e in refusals] == ["refused", "refused", "refused"]


async def test_another_tenants_investigator_exports_nothing_of_city(api: Api) -> None:
    await api.push(lines("web-1", "file:/a.log", 0, [1, 2], "CITYSECRET"))
    status, data, _ = await api.export(token="other-investigator")
    assert status == 200
    assert b"CITYSECRET" not in data and b"web-1" not in data
    report = verify_bundle(data, api.store.signer.public)
    assert report.clean and report.tenant == "other" and report.exported == 0
