"""``GET /v1/hosts`` and the fleet behind it, in-process on a real loopback server over a real
store: pushes made by the agent's own sender (which reports when each answer arrived), the
collector's own clock audited against a real chronyd, tenant scoping, the audit trail, the
registry kept across a restart and forgotten by an erase."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from support.adminapi import Admin
from support.stores import make_store

from agent.delivery.sender import HttpSender
from chronolog.cli.fleet import render_hosts
from chronolog.daemon import SERVER_OPTIONS
from chronolog.timefmt import now_us
from chronolog.wire import CONTENT_TYPE, Batch, Chunk, ClockView, compress, encode_batch
from collector.app import audit_path, build_app, credentials_path, open_audit
from collector.auth.credentials import CredentialStore
from collector.config import CollectorConfig
from collector.fleet.config import CollectorClockConfig, ExpectedHosts, FleetConfig
from collector.fleet.http import FLEET
from collector.fleet.service import Fleet
from collector.store.local import LocalStore
from collector.telemetry import Telemetry

GOOD = ClockView(offset=0.00002, bound=0.0004, synced=True, status="ok", source="audit")


@dataclass
class World:
    client: TestClient
    fleet: Fleet
    store: LocalStore
    config: CollectorConfig
    tokens: dict[str, str]
    token_files: dict[str, Path]

    async def get(self, path: str, token: str = "city-investigator", **params: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[token]}"}
        r = await self.client.get(path, params=params, headers=headers)
        return r.status, orjson.loads(await r.read())

    def sender(self, token: str = "city-agent") -> HttpSender:
        return HttpSender(str(self.client.make_url("/")), self.token_files[token], 10, "zstd")

    def audit(self, action: str) -> list[dict[str, Any]]:
        entries = [orjson.loads(x) for x in audit_path(self.config).read_bytes().splitlines()]
        return [e for e in entries if e["action"] == action]


def body(host: str, stream: str, seq: int, n: int = 3, agent: str = "agent-web",
         clock: ClockView = GOOD) -> bytes:
    now = now_us()
    chunk = Chunk(stream, seq, now - 200_000, clock, [f"{host} line {seq + i}" for i in range(n)],
                  [now - 300_000 + i for i in range(n)], ["explicit"] * n, [None] * n)
    return compress(encode_batch(Batch(agent, host, "Asia/Tokyo", now, [chunk])), "zstd")


@pytest.fixture
async def world(tmp_path: Path, chronyd: int) -> AsyncIterator[World]:
    fleet_config = FleetConfig(clock=CollectorClockConfig(servers=[f"127.0.0.1:{chronyd}"], burst=2,
                                                          burst_spacing=0.05, interval=32, timeout=1),
                               expected=[ExpectedHosts(tenant="city", hosts=["web-1", "db-9"])])
    config = CollectorConfig(data_dir=tmp_path / "data", fleet=fleet_config)
    store = make_store(config.data_dir)
    credentials = CredentialStore(credentials_path(config))
    tokens, files = {}, {}
    callers = {"city-agent": ("city", "agent"), "city-investigator": ("city", "investigator"),
               "other-agent": ("other", "agent"), "other-investigator": ("other", "investigator")}
    for name, (tenant, role) in callers.items():
        tokens[name] = credentials.issue(tenant, role, name)[1]
        files[name] = tmp_path / f"{name}.token"
        files[name].write_text(tokens[name])
    fleet = Fleet(config.fleet, store, config.data_dir / "fleet")
    await fleet.clock.auditor.round()  # the collector's own clock, against the real chronyd
    app = build_app(config, store, credentials, Telemetry(), open_audit(config, store.signer), fleet=fleet)
    server = TestServer(app)
    await server.start_server(**SERVER_OPTIONS)
    client = TestClient(server)
    await client.start_server()
    yield World(client, fleet, store, config, tokens, files)
    await client.close()
    store.close()


async def test_pushes_by_the_agents_sender_make_a_cross_checked_host(world: World) -> None:
    async with world.sender() as sender:
        for seq in range(0, 12, 3):
            await sender.send(body("web-1", "file:/var/log/app.log", seq))
    status, doc = await world.get("/v1/hosts")
    assert status == 200 and doc["zone"] == "Asia/Tokyo"
    assert doc["collector"]["clock"]["status"] == "ok" and doc["collector"]["clock"]["bound"] < 0.01
    db, web = doc["hosts"]  # by name
    assert (web["host"], web["state"], web["expected"]) == ("web-1", "reporting", True)
    assert web["agents"] == ["agent-web"]
    assert web["clock"]["status"] == "ok" and web["clock"]["offset"] == GOOD.offset
    check = web["crosscheck"]
    # Same machine, same clock: the cross-check contains 0, to within the round trips on loopback.
    assert check["status"] == "ok" and check["exchanges"] == 7  # 4 pushes, 3 of them reporting an answer
    assert check["min"] <= 0 <= check["max"] and check["max"] - check["min"] < 0.05
    assert web["disagreement"] == 0.0 and web["problems"] == []
    assert 0.19 < web["lag"] < 1.0  # read 200 ms before the push was made
    [stream] = web["streams"]
    assert (stream["stream"], stream["lines"], stream["agent"]) == ("file:/var/log/app.log", 12, "agent-web")
    assert (db["host"], db["state"], db["last_seen"], db["problems"]) == ("db-9", "missing", None,
                                                                       ["missing", "clock unknown"])
    assert doc["summary"] == {"hosts": 2, "expected": 2, "reporting": 1, "silent": 0, "missing": 1,
                              "over_budget": 0, "clock_unknown": 1, "disagree": 0, "problems": 1}
    [entry] = world.audit("hosts")
    assert (entry["tenant"], entry["outcome"], entry["details"]) == ("city", "done", {"hosts": 2})
    header, db_row, web_row, *notes = render_hosts(doc).splitlines()  # `chronolog hosts`
    assert header.split() == ["HOST", "STATE", "LAST", "SEEN", "LAG", "CLOCK", "CLAIMED", "OFFSET",
                              "CROSS-CHECK", "GAPS"]
    assert db_row.split() == ["db-9", "missing", "never", "-", "unknown", "-", "-", "0"]
    assert web_row.split()[:5] == ["web-1", "reporting", "0s", "ago", f"{web['lag']:.2f}"]
    assert "+0.0000 ±0.0004 s" in web_row
    assert notes[0].startswith("# 2 hosts (2 expected): 1 reporting, 0 silent, 1 missing; 0 over the clock")
    assert notes[1].startswith("# collector clock: ok, offset ")
    assert notes[2] == "# db-9: missing, clock unknown"


async def test_a_host_whose_sent_time_runs_3_s_ahead_is_over_budget_by_the_cross_check(world: World) -> None:
    ahead = 3_000_000
    before = now_us()
    raw = orjson.loads(encode_batch(Batch("agent-x", "web-7", "UTC", now_us() + ahead, [
        Chunk("journald", 0, now_us() + ahead, GOOD, ["x"], [now_us()], ["explicit"], [None])])))
    r = await world.client.post("/v1/push", data=compress(orjson.dumps(raw), "zstd"), headers={
        "Authorization": f"Bearer {world.tokens['city-agent']}", "Content-Type": CONTENT_TYPE,
        "Content-Encoding": "zstd"})
    took = (now_us() - before) / 1e6  # sent and arrival are at most this far apart
    assert r.status == 200 and r.headers["Chronolog-Exchange"]
    _, doc = await world.get("/v1/hosts")
    [web7] = [h for h in doc["hosts"] if h["host"] == "web-7"]
    assert web7["crosscheck"]["status"] == "over_budget" and web7["crosscheck"]["max"] is None
    assert 3.0 - took <= web7["crosscheck"]["min"] <= 3.0
    # Its agent says it is fine: the collector says it is not, by about as much.
    assert web7["disagreement"] > 0 and "claim and cross-check disagree" in web7["problems"]
    assert web7["disagreement"] == pytest.approx(web7["crosscheck"]["min"], abs=0.2)


async def test_each_tenant_sees_its_own_hosts_only(world: World) -> None:
    async with world.sender() as city, world.sender("other-agent") as other:
        await city.send(body("web-1", "journald", 0))
        await other.send(body("ot-db-1", "journald", 0, agent="agent-ot"))
    _, mine = await world.get("/v1/hosts")
    _, theirs = await world.get("/v1/hosts", token="other-investigator")
    assert [h["host"] for h in mine["hosts"]] == ["db-9", "web-1"]
    assert [h["host"] for h in theirs["hosts"]] == ["ot-db-1"]
    assert mine["tenant_id"] != theirs["tenant_id"] and "city" not in mine["tenant_id"]
    assert "web-1" not in orjson.dumps(theirs).decode() and "agent-web" not in orjson.dumps(theirs).decode()
    status, streams = await world.get("/v1/streams")
    assert status == 200
    [s] = streams["streams"]
    assert (s["host"], s["agent"], s["stream"]) == ("web-1", "agent-web", "journald")
    assert s["last_seen"].endswith("+09:00")


async def test_bad_requests_and_wrong_roles_are_refused_and_refusals_audited(world: World) -> None:
    status, error = await world.get("/v1/hosts", zone="Mars/Olympus")
    assert (status, error["error"]) == (400, "bad_query") and "Mars/Olympus" in error["detail"]
    status, error = await world.get("/v1/hosts", tenant="other")
    assert (status, error["error"]) == (400, "bad_query") and "'tenant'" in error["detail"]
    assert [e["outcome"] for e in world.audit("hosts")] == ["refused", "refused"]
    status, error = await world.get("/v1/hosts", token="city-agent")
    assert (status, error["error"]) == (403, "forbidden")


async def test_the_registry_is_kept_across_a_restart(world: World) -> None:
    async with world.sender() as sender:
        await sender.send(body("web-1", "journald", 0))
        await sender.send(body("web-1", "journald", 3))
    await world.fleet.save()
    assert (world.config.data_dir / "fleet" / "city.json").exists()
    again = Fleet(world.config.fleet, world.store, world.config.data_dir / "fleet").load()
    before, after = world.fleet.registry.tenants["city"], again.registry.tenants["city"]
    assert after == before and after.hosts["web-1"].crosscheck is not None
    assert again.tenant_id("city") == world.fleet.tenant_id("city")
    again.forget("city")  # as an erase does
    assert not (world.config.data_dir / "fleet" / "city.json").exists()
    assert "city" not in again.registry.tenants


async def test_an_unreadable_registry_file_is_set_aside_and_the_tenant_starts_afresh(tmp_path: Path) -> None:
    directory = tmp_path / "fleet"
    directory.mkdir()
    (directory / "city.json").write_text("{half a docu")
    store = make_store(tmp_path / "data")
    try:
        fleet = Fleet(FleetConfig(clock=CollectorClockConfig(servers=[])), store, directory).load()
        assert fleet.registry.tenants == {}
        assert (directory / "city.unreadable").read_text() == "{half a docu"
    finally:
        store.close()


async def test_an_erased_tenants_fleet_is_forgotten(admin: Admin) -> None:
    fleet = admin.client.server.app[FLEET]
    assert set(fleet.registry.tenants) == {"city", "other"}  # the fixture pushed lines of both
    status, _ = await admin.post("/v1/admin/erase", {"tenant": "city", "confirm": "city"})
    assert status == 200
    assert set(fleet.registry.tenants) == {"other"}
