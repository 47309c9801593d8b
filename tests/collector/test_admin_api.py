"""The admin API on a real loopback server (in-process) over a real store: who may call it,
dry runs before anything destructive, the audit record, and no key material anywhere.
Administrators log in with a password and a TOTP code (tests/collector/test_admin_login.py
covers the login itself)."""

from __future__ import annotations

import base64
import io
import tarfile
from pathlib import Path

import orjson
import pytest
from prometheus_client import generate_latest
from support.adminapi import Admin
from support.admins import PASSWORD
from support.stores import master_keys

from collector.app import audit_path


async def test_only_admin_credentials_reach_the_admin_api_and_only_for_their_tenant(admin: Admin) -> None:
    for token in ("city-agent", "city-investigator"):
        status, body = await admin.get("/v1/admin/keys", token=token, tenant="city")
        assert (status, body["error"]) == (403, "forbidden")
    status, body = await admin.get("/v1/admin/keys", token="carol", tenant="other")
    assert status == 403 and "tenant 'city' only" in body["detail"]
    assert (await admin.get("/v1/admin/keys", token="carol"))[0] == 200  # its own, implied
    status, body = await admin.get("/v1/admin/keys")  # an all-tenant admin must name one
    assert status == 400 and "name the tenant" in body["detail"]
    assert (await admin.get("/v1/admin/keys", token="nope", tenant="city"))[0] == 401
    status, body = await admin.get("/v1/admin/keys", tenant="nobody")
    assert (status, body["error"]) == (404, "unknown_tenant")
    status, body = await admin.post("/v1/admin/erase", {"tenant": "city", "surprise": 1})
    assert status == 400 and "unknown field 'surprise'" in body["detail"]
    assert (await admin.post("/v1/admin/erase", b"{not json"))[0] == 400
    assert {e["outcome"] for e in admin.audit()} == {"refused", "done"}
    assert [e["action"] for e in admin.audit() if e["outcome"] == "done"] == ["keys.list"]


async def test_retention_changes_are_dry_runs_until_confirmed_and_audited(admin: Admin) -> None:
    status, body = await admin.post("/v1/admin/retention", {"tenant": "city", "days": 30})
    assert status == 200 and body["dry_run"] is True and body["retention_days"] == 0
    assert body["proposed_days"] == 30
    status, body = await admin.post("/v1/admin/retention", {"tenant": "city", "days": 30, "confirm": "other"})
    assert (status, body["error"]) == (400, "bad_confirmation")
    status, body = await admin.post("/v1/admin/retention", {"tenant": "city", "days": 30, "confirm": "city"})
    assert status == 200 and body["dry_run"] is False and body["retention_days"] == 30
    status, body = await admin.post("/v1/admin/retention/apply", {"tenant": "city"})
    assert body["dry_run"] is True and body["would_expire"]["segments"] == []  # nothing is 30 days old
    outcomes = [(e["action"], e["outcome"], e["name"]) for e in admin.audit()]
    assert outcomes == [("retention.set", "dry_run", "root"), ("retention.set", "refused", "root"),
                        ("retention.set", "done", "root"), ("retention.apply", "dry_run", "root")]
    metrics = generate_latest(admin.telemetry.registry).decode()
    assert 'chronolog_collector_admin_operations_total{action="retention.set",outcome="done"} 1.0' in metrics


async def test_legal_holds_are_added_listed_and_released_only_when_confirmed(admin: Admin) -> None:
    status, hold = await admin.post("/v1/admin/holds", {"tenant": "city", "reason": "case 42",
                                                         "since": "2026-11-27T00:00:00+09:00"})
    assert status == 200 and hold["reason"] == "case 42" and hold["until"] is None
    assert (await admin.post("/v1/admin/holds", {"tenant": "city", "reason": " "}))[0] == 400
    _, listed = await admin.get("/v1/admin/holds", tenant="city")
    assert [h["id"] for h in listed["holds"]] == [hold["id"]]
    _, preview = await admin.post("/v1/admin/holds/release", {"tenant": "city", "id": hold["id"]})
    assert preview["dry_run"] is True
    assert len((await admin.get("/v1/admin/holds", tenant="city"))[1]["holds"]) == 1
    status, body = await admin.post("/v1/admin/erase", {"tenant": "city", "confirm": "city"})
    assert (status, body["error"]) == (409, "legal_hold")  # no erase under a hold
    release = {"tenant": "city", "id": hold["id"], "confirm": "city"}
    _, done = await admin.post("/v1/admin/holds/release", release)
    assert done == {"dry_run": False, "released": hold["id"]}
    _, all_holds = await admin.get("/v1/admin/holds", tenant="city", all="1")
    assert all_holds["holds"][0]["released_by"] == "root"


async def test_verify_and_the_exported_checkpoint(admin: Admin) -> None:
    await admin.store.seal("city")
    status, exported = await admin.get("/v1/admin/checkpoint", tenant="city")
    assert status == 200 and exported["number"] == 1 and exported["algorithm"] == "Ed25519"
    status, body = await admin.post("/v1/admin/verify", {"checkpoint": exported, "tenant": "city"})
    assert status == 200 and body["clean"] is True and body["reports"][0]["segments"] == 1
    _, everyone = await admin.post("/v1/admin/verify", {})
    assert [r["tenant"] for r in everyone["reports"]] == ["city", "other"]
    forged = {**exported, "number": 2}
    _, body = await admin.post("/v1/admin/verify", {"checkpoint": forged, "tenant": "city"})
    assert body["clean"] is False
    assert body["reports"][0]["findings"][0]["detail"] == "its signature does not verify"
    assert (await admin.get("/v1/admin/checkpoint", tenant="other"))[0] == 404  # nothing sealed yet


async def test_a_backup_is_a_tar_of_ciphertext_and_catalog_without_keys(admin: Admin) -> None:
    status, data = await admin.get("/v1/admin/backup", tenant="city")
    assert status == 200
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = sorted(tar.getnames())
        manifest = orjson.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert names == ["catalog.sqlite", "checkpoints.log", "manifest.json", "segments/seg-00000001.cls"]
    assert manifest["tenant"] == "city" and manifest["chain"]["length"] == 1  # sealed first
    assert b"s 1" not in data
    assert admin.store.erase_plan("city")["backups"][0]["id"] == manifest["id"]


async def test_tenant_key_rotation_through_the_api(admin: Admin) -> None:
    _, before = await admin.get("/v1/admin/keys", tenant="city")
    _, preview = await admin.post("/v1/admin/keys/rotate", {"tenant": "city"})
    active = before["versions"][0]["id"]
    assert preview == {"dry_run": True, "tenant": "city", "active": active, "versions": 1}
    assert len((await admin.get("/v1/admin/keys", tenant="city"))[1]["versions"]) == 1  # nothing changed
    _, rotated = await admin.post("/v1/admin/keys/rotate", {"tenant": "city", "confirm": "city"})
    _, after = await admin.get("/v1/admin/keys", tenant="city")
    assert [v["active"] for v in after["versions"]] == [False, True]
    assert after["versions"][1]["id"] == rotated["active"] != before["versions"][0]["id"]


async def test_erase_previews_then_destroys_keys_data_and_credentials_and_reports(admin: Admin) -> None:
    assert (await admin.get("/v1/admin/keys", token="carol"))[0] == 200  # carol is logged in
    _, preview = await admin.post("/v1/admin/erase", {"tenant": "city"})
    plan = preview["plan"]
    assert preview["dry_run"] is True and plan["lines"] == 0 and plan["wal_files"] == 1
    assert {c["name"] for c in plan["credentials"]} == {"web-1", "ivan"}
    assert plan["administrators"] == ["carol"]
    assert "city" in admin.store.tenants()
    status, done = await admin.post("/v1/admin/erase", {"tenant": "city", "confirm": "city"})
    assert status == 200 and done["dry_run"] is False
    report = done["report"]
    assert report["sanitization"]["verification"]["decrypt_failed"] is True
    assert report["scope"]["key_ids"] == plan["key_ids"]
    assert all(Path(f).exists() for f in done["files"])
    assert "city" not in admin.store.tenants()
    assert await admin.push("city-agent", 1, seq=100) == 401  # revoked
    status, body = await admin.get("/v1/admin/keys", token="carol")  # her account went with the tenant
    assert status == 401 and "ended" in body["detail"]
    refused = await admin.client.post("/v1/admin/login", json={
        "user": "carol", "password": PASSWORD, "totp": admin.phones["carol"].code()})
    assert refused.status == 401
    assert await admin.push("other-agent", 1, seq=100) == 200  # untouched
    assert admin.store.verify("other").clean


async def test_no_key_material_leaves_in_responses_logs_audit_or_metrics(
        admin: Admin, caplog: pytest.LogCaptureFixture) -> None:
    await admin.store.seal("city")
    master_file = orjson.loads(master_keys(admin.config.data_dir).path.read_bytes())
    secrets = [base64.b64decode(v["key"]) for v in master_file["keys"]]
    secrets += [admin.store.keys.key("city", v.id) for v in admin.store.key_versions("city")]
    responses = [await admin.get("/v1/admin/keys", tenant="city"),
                 await admin.get("/v1/admin/checkpoint", tenant="city"),
                 await admin.post("/v1/admin/verify", {}),
                 await admin.post("/v1/admin/erase", {"tenant": "city"}),
                 await admin.post("/v1/admin/erase", {"tenant": "city", "confirm": "city"})]
    seen = b"".join(orjson.dumps(body) for _, body in responses)
    seen += audit_path(admin.config).read_bytes() + generate_latest(admin.telemetry.registry)
    seen += caplog.text.encode()
    for secret in secrets:
        for form in (secret, secret.hex().encode(), base64.b64encode(secret)):
            assert form not in seen
