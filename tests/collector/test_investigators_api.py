"""Investigators' console accounts through the admin API: made by an administrator of the
tenant (two factors), for one existing tenant only, the TOTP secret shown once, listed and
disabled within scope, every call audited; and re-wrapped by a master key rotation."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
from support.adminapi import Admin
from support.admins import PASSWORD, Authenticator

from collector.app import audit_path
from collector.auth.admins import AdminAccounts
from collector.auth.totp import check_code
from collector.config import CollectorConfig
from collector.console.routes import investigators_path
from collector.offline import init_master, rotate_master_key
from collector.store.keys import FileMasterKeys, KeysConfig, master_key_path

IVY = {"tenant": "city", "name": "ivy", "password": PASSWORD}


async def test_an_administrator_of_the_tenant_adds_an_investigator_and_sees_the_secret_once(
        admin: Admin) -> None:
    status, body = await admin.post("/v1/admin/investigators", IVY, token="carol")
    assert status == 200 and body["name"] == "ivy" and body["tenant"] == "city"
    assert body["uri"].startswith("otpauth://totp/chronolog-console:ivy?")
    assert "algorithm=SHA256" in body["uri"]
    accounts = AdminAccounts(investigators_path(admin.config.data_dir), admin.store.master, "investigator")
    [account] = accounts.accounts()
    assert account.scope == "city" and accounts.secret(account) == base64.b32decode(body["secret"])
    trail = audit_path(admin.config).read_text()
    assert body["secret"] not in trail and PASSWORD not in trail
    [entry] = admin.audit("investigators.add")
    assert (entry["name"], entry["tenant"], entry["outcome"], entry["details"]) == (
        "carol", "city", "done", {"account": "ivy"})
    # Not in the administrators' file: an investigator's account is no administrator's.
    assert "ivy" not in (admin.config.data_dir / "admins.json").read_text()


async def test_adding_is_refused_outside_scope_for_no_tenant_and_for_bad_input(admin: Admin) -> None:
    assert (await admin.post("/v1/admin/investigators", {**IVY, "tenant": "other"}, token="carol"))[0] == 403
    status, body = await admin.post("/v1/admin/investigators", {**IVY, "tenant": "park"})
    assert status == 404 and "chronolog admin tenant create park" in body["detail"]
    assert (await admin.post("/v1/admin/investigators", {"name": "ivy", "password": PASSWORD}))[0] == 400
    status, body = await admin.post("/v1/admin/investigators", {**IVY, "password": "short"})
    assert status == 400 and "at least 12 characters" in body["detail"]
    status, body = await admin.post("/v1/admin/investigators", {**IVY, "name": "Ivy Smith"})
    assert status == 400 and "invalid investigator name" in body["detail"]
    assert (await admin.post("/v1/admin/investigators", IVY))[0] == 200
    status, body = await admin.post("/v1/admin/investigators", IVY)
    assert status == 400 and "an investigator 'ivy' already exists" in body["detail"]
    for token in ("city-investigator", "city-agent"):
        assert (await admin.post("/v1/admin/investigators", IVY, token=token))[0] in (401, 403)
    refused = [e for e in admin.audit("investigators.add") if e["outcome"] == "refused"]
    assert len(refused) == 8  # each of the refusals above


async def test_listing_and_disabling_stay_within_the_administrators_scope(admin: Admin) -> None:
    await admin.post("/v1/admin/investigators", IVY)
    await admin.post("/v1/admin/investigators", {**IVY, "tenant": "other", "name": "otto"})
    status, body = await admin.get("/v1/admin/investigators", token="carol")
    assert status == 200 and [a["name"] for a in body["investigators"]] == ["ivy"]
    assert set(body["investigators"][0]) == {"name", "tenant", "created", "disabled", "failures"}
    everyone = (await admin.get("/v1/admin/investigators"))[1]["investigators"]
    assert [a["name"] for a in everyone] == ["ivy", "otto"]
    status, body = await admin.post("/v1/admin/investigators/disable", {"name": "otto"}, token="carol")
    assert status == 404 and "otto" not in body["detail"]
    status, body = await admin.post("/v1/admin/investigators/disable", {"name": "ivy"}, token="carol")
    assert (status, body) == (200, {"disabled": "ivy", "sessions_ended": 0})
    listed = (await admin.get("/v1/admin/investigators", token="carol"))[1]["investigators"]
    assert listed[0]["disabled"] is not None


async def test_a_master_key_rotation_rewraps_the_investigators_secrets(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = CollectorConfig(data_dir=data, keys=KeysConfig(master_key_file=tmp_path / "master.key"))
    init_master(config)
    master = FileMasterKeys.load(master_key_path(config.keys))
    accounts = AdminAccounts(investigators_path(data), master, "investigator")
    secret = Authenticator(accounts.add("ivy", "city", PASSWORD).base32)
    plan, _ = rotate_master_key(config, None)
    assert plan.investigators == 1
    _, done = rotate_master_key(config, plan.current)
    assert done is not None
    rotated = FileMasterKeys.load(master_key_path(config.keys))
    assert rotated.ids() == [done[0]]
    doc = orjson.loads(investigators_path(data).read_bytes())
    assert doc["admins"][0]["totp"]["master"] == done[0]
    after = AdminAccounts(investigators_path(data), rotated, "investigator")
    [account] = after.accounts()
    step = 1_000  # any step: the code made from the enrolled secret is accepted with the re-wrapped one
    assert check_code(after.secret(account), secret.code_at(step), account.state, step * 30.0).ok
