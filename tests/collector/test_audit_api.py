"""Reading the audit trail through ``GET /v1/audit``: investigator reads are in it, each caller
sees its own scope, verification names tampering, and guarded operations are counted from
the trail itself (so a restart recounts them)."""

from __future__ import annotations

from pathlib import Path

import orjson
from prometheus_client import generate_latest
from support.adminapi import Admin
from support.stores import master_keys

from collector.app import audit_path, open_audit
from collector.auth.credentials import Principal
from collector.config import CollectorConfig
from collector.store.keys import Signer
from collector.telemetry import Telemetry

SINCE, UNTIL = "1970-01-01T00:00:00Z", "2100-01-01T00:00:00Z"


async def query(admin: Admin, token: str, **more: str) -> int:
    r = await admin.client.get("/v1/query", params={"since": SINCE, "until": UNTIL, **more},
                               headers={"Authorization": f"Bearer {admin.tokens[token]}"})
    await r.read()
    return r.status


async def test_every_investigator_read_is_recorded_with_its_parameters_and_line_count(admin: Admin) -> None:
    assert await query(admin, "city-investigator", grep="s 1", host="web-1") == 200
    assert await query(admin, "city-investigator", limit="0") == 400
    assert (await admin.get("/v1/streams", token="city-investigator"))[0] == 200
    [started, done, refused] = admin.audit("query")
    assert (done["name"], done["role"], done["tenant"]) == ("ivan", "investigator", "city")
    # One entry before the first line leaves, one with how many left.
    assert (started["outcome"], done["outcome"]) == ("started", "done")
    assert started["details"]["params"] == done["details"]["params"]
    assert done["details"]["params"]["grep"] == ["s 1"] and done["details"]["params"]["host"] == ["web-1"]
    assert done["details"]["lines"] == 11  # "s 1", "s 10" ... "s 19"
    assert refused["outcome"] == "refused" and refused["details"]["status"] == 400
    assert admin.audit("streams")[0]["details"] == {"streams": 1}


async def test_an_investigator_sees_its_own_tenants_entries_without_the_chain(admin: Admin) -> None:
    await query(admin, "city-investigator")
    await query(admin, "other-investigator")
    await admin.post("/v1/admin/retention", {"tenant": "other", "days": 30})
    status, body = await admin.get("/v1/audit", token="city-investigator")
    assert status == 200 and body["scope"] == "city"
    assert {e["tenant"] for e in body["entries"]} == {"city"}
    assert [(e["action"], e["outcome"]) for e in body["entries"]] == [("query", "started"), ("query", "done")]
    assert all("n" not in e and "sig" not in e and "prev" not in e for e in body["entries"])
    assert b"other" not in orjson.dumps(body) and b"oscar" not in orjson.dumps(body)
    status, body = await admin.get("/v1/audit", token="city-investigator", tenant="other")
    assert status == 400
    assert (await admin.get("/v1/audit", token="city-agent"))[0] == 403


async def test_administrators_see_their_scope_and_the_reads_of_the_trail_are_recorded(admin: Admin) -> None:
    await query(admin, "other-investigator")
    await query(admin, "city-investigator")
    _, everything = await admin.get("/v1/audit")
    assert {"other", "city"} <= {e["tenant"] for e in everything["entries"]}
    assert all("sig" in e and "n" in e for e in everything["entries"])
    _, carols = await admin.get("/v1/audit", token="carol")
    assert carols["scope"] == "city" and "other" not in {e["tenant"] for e in carols["entries"]}
    _, narrowed = await admin.get("/v1/audit", tenant="other", since="2000-01-01T00:00:00Z")
    assert {e["tenant"] for e in narrowed["entries"]} == {"other"}
    assert admin.audit("audit.read")[-1]["details"]["entries"] == len(narrowed["entries"])


async def test_verify_names_a_tampered_entry_and_a_tenant_learns_only_what_is_its_own(admin: Admin) -> None:
    await query(admin, "other-investigator")
    await query(admin, "city-investigator")
    _, body = await admin.get("/v1/audit", verify="1")
    assert body["verify"]["clean"] is True and body["verify"]["head"]["n"] == body["verify"]["entries"]
    path = audit_path(admin.config)
    lines = path.read_bytes().split(b"\n")[:-1]
    index = next(i for i, x in enumerate(lines) if b'"tenant":"other"' in x and b'"lines":20' in x)
    lines[index] = lines[index].replace(b'"lines":20', b'"lines":2')
    path.write_bytes(b"".join(x + b"\n" for x in lines))
    _, body = await admin.get("/v1/audit", verify="1")
    assert body["verify"]["clean"] is False
    [finding] = body["verify"]["findings"]
    assert finding["kind"] == "rewritten" and finding["where"] == f"entry {index + 1} (line {index + 1})"
    _, seen_by_city = await admin.get("/v1/audit", token="city-investigator", verify="1")
    assert seen_by_city["verify"] == {"clean": False, "findings": [
        {"kind": "rewritten", "where": "an entry outside your scope", "detail": "not shown"}]}


def test_guarded_operations_are_counted_from_the_trail_when_the_collector_starts(tmp_path: Path) -> None:
    config = CollectorConfig(data_dir=tmp_path / "data")
    signer = Signer.load_or_create(config.data_dir / "keys", master_keys(config.data_dir))
    local = Principal("local", "*", "admin", "root@host (local)")
    trail = open_audit(config, signer)
    trail.append(local, "restore", "city", "dry_run", {})
    trail.append(local, "restore", "city", "done", {})  # while the collector was stopped
    trail.append(local, "query", "city", "done", {})
    telemetry = Telemetry()
    open_audit(config, signer, telemetry)
    text = generate_latest(telemetry.registry).decode()
    assert 'chronolog_collector_guarded_operations_total{operation="restore",outcome="done"} 1.0' in text
    assert 'chronolog_collector_guarded_operations_total{operation="restore",outcome="dry_run"} 1.0' in text
    assert 'chronolog_collector_guarded_operations_total{operation="erase",outcome="done"} 0.0' in text
