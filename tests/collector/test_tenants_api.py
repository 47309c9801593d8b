"""Tenants and credentials through the admin API: tenants made explicitly, credentials only for
them and only of agent and investigator roles, shown once, listed and revoked within scope."""

from __future__ import annotations

import orjson
from prometheus_client import generate_latest
from support.adminapi import Admin

from collector.app import audit_path
from collector.auth.ca import CertificateAuthority


def guarded(admin: Admin, operation: str, outcome: str) -> float:
    text = generate_latest(admin.telemetry.registry).decode()
    line = f'chronolog_collector_guarded_operations_total{{operation="{operation}",outcome="{outcome}"}} '
    return float(next(x for x in text.splitlines() if x.startswith(line)).split()[-1])


async def test_tenants_are_created_explicitly_and_listed_within_scope(admin: Admin) -> None:
    status, body = await admin.post("/v1/admin/tenants", {"tenant": "park"})
    assert (status, body) == (200, {"tenant": "park", "created": True})
    assert (await admin.post("/v1/admin/tenants", {"tenant": "park"}))[1]["error"] == "tenant_exists"
    assert [v.id for v in admin.store.key_versions("park")]  # its key is made with it
    status, body = await admin.post("/v1/admin/tenants", {"tenant": "zoo"}, token="carol")
    assert status == 403 and "zoo" not in admin.store.tenants()
    assert (await admin.get("/v1/admin/tenants"))[1] == {"tenants": ["city", "other", "park"]}
    assert (await admin.get("/v1/admin/tenants", token="carol"))[1] == {"tenants": ["city"]}
    for token in ("city-investigator", "city-agent"):
        assert (await admin.get("/v1/admin/tenants", token=token))[0] == 403


async def test_a_token_is_issued_only_for_an_existing_tenant_and_shown_once(admin: Admin) -> None:
    park_agent = {"tenant": "park", "role": "agent", "name": "p1"}
    status, body = await admin.post("/v1/admin/credentials", park_agent)
    assert status == 404 and "chronolog admin tenant create park" in body["detail"]
    await admin.post("/v1/admin/tenants", {"tenant": "park"})
    status, issued = await admin.post("/v1/admin/credentials", park_agent)
    assert status == 200 and issued["kind"] == "token" and issued["token"].startswith("clg_")
    assert await admin.push(issued["token"], 3) == 200
    assert [s.lines for s in admin.store.streams("park")] == [3]
    status, body = await admin.post("/v1/admin/credentials", {**park_agent, "role": "admin"})
    assert status == 400 and "collector host" in body["detail"]
    trail = audit_path(admin.config).read_text()
    assert issued["id"] in trail and issued["token"] not in trail


async def test_a_certificate_comes_from_the_collectors_ca_with_its_key_only_in_the_answer(
        admin: Admin) -> None:
    body = {"tenant": "city", "role": "investigator", "name": "ivan-laptop", "cert": True}
    status, refused = await admin.post("/v1/admin/credentials", body)
    assert (status, refused["error"]) == (409, "no_ca")
    CertificateAuthority(admin.config.data_dir / "ca").init()
    status, issued = await admin.post("/v1/admin/credentials", body)
    assert status == 200 and issued["kind"] == "certificate"
    assert issued["certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert issued["key"].startswith("-----BEGIN PRIVATE KEY-----") and "BEGIN CERTIFICATE" in issued["ca"]
    key_body = issued["key"].splitlines()[1]
    assert key_body not in audit_path(admin.config).read_text()
    assert key_body not in (admin.config.data_dir / "credentials.json").read_text()


async def test_credentials_are_listed_and_revoked_only_within_scope(admin: Admin) -> None:
    _, everything = await admin.get("/v1/admin/credentials")
    assert {c["tenant"] for c in everything["credentials"]} == {"city", "other"}
    _, city = await admin.get("/v1/admin/credentials", token="carol")
    assert {c["tenant"] for c in city["credentials"]} == {"city"}
    assert all("sha256" not in c for c in everything["credentials"])
    other_id = next(c["id"] for c in everything["credentials"] if c["tenant"] == "other")
    status, body = await admin.post("/v1/admin/credentials/revoke", {"id": other_id}, token="carol")
    unknown = await admin.post("/v1/admin/credentials/revoke", {"id": "c_000000000000"}, token="carol")
    assert status == 404 and (status, body["error"]) == (unknown[0], unknown[1]["error"])
    assert "other" not in body["detail"]  # not even confirmed to exist


async def test_revoking_is_a_dry_run_until_confirmed_with_the_id(admin: Admin) -> None:
    _, listed = await admin.get("/v1/admin/credentials", tenant="city")
    agent = next(c for c in listed["credentials"] if c["role"] == "agent")
    status, preview = await admin.post("/v1/admin/credentials/revoke", {"id": agent["id"]})
    assert status == 200 and preview["dry_run"] is True and preview["credential"]["name"] == "web-1"
    assert await admin.push("city-agent", 1, seq=50) == 200  # still live
    status, body = await admin.post("/v1/admin/credentials/revoke", {"id": agent["id"], "confirm": "city"})
    assert (status, body["error"]) == (400, "bad_confirmation") and "credential id" in body["detail"]
    confirmed = {"id": agent["id"], "confirm": agent["id"]}
    status, done = await admin.post("/v1/admin/credentials/revoke", confirmed)
    assert done == {"dry_run": False, "revoked": agent["id"]}
    assert await admin.push("city-agent", 1, seq=51) == 401
    assert [guarded(admin, "credentials.revoke", o) for o in ("dry_run", "refused", "done")] == [1, 1, 1]
    entries = [orjson.loads(x) for x in audit_path(admin.config).read_bytes().splitlines()]
    revokes = [(e["outcome"], e["tenant"], e["name"]) for e in entries if e["action"] == "credentials.revoke"]
    assert revokes == [("dry_run", "city", "root"), ("refused", None, "root"), ("done", "city", "root")]
