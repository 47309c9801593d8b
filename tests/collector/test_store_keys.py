"""The key hierarchy: the master key file, tenant key rotation and destruction, master key
rotation without touching data, and no key material in errors."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import orjson
import pytest
from support.stores import batch, lines, make_store, master_keys

from chronolog.cliutil import Failure, UsageError
from collector.admin.audit import AuditTrail
from collector.config import CollectorConfig
from collector.offline import backup_keys, init_master, restore_keys, rotate_master_key
from collector.store.crypto import Unreadable
from collector.store.keys import FileMasterKeys, KeyringError, KeysConfig, Signer, master_key_path


def test_a_master_key_file_readable_by_others_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    FileMasterKeys.create(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    key = orjson.loads(path.read_bytes())["keys"][0]["key"]
    path.chmod(0o644)
    with pytest.raises(KeyringError) as e:
        FileMasterKeys.load(path)
    assert "chmod 600" in str(e.value) and key not in str(e.value)
    with pytest.raises(KeyringError, match="not replacing"):
        FileMasterKeys.create(path)


def test_the_master_key_must_live_outside_the_data_directory(tmp_path: Path) -> None:
    inside = CollectorConfig(data_dir=tmp_path, keys=KeysConfig(master_key_file=tmp_path / "master.key"))
    with pytest.raises(Failure, match="outside"):
        init_master(inside)
    outside = CollectorConfig(data_dir=tmp_path / "data", keys=KeysConfig(master_key_file=tmp_path / "m.key"))
    path, key_id = init_master(outside)
    assert path.exists() and key_id.startswith("mk-")


def test_systemd_credentials_take_the_place_of_the_configured_file(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    config = KeysConfig(master_key_file=tmp_path / "etc" / "master.key")
    assert master_key_path(config) == config.master_key_file
    (tmp_path / "creds").mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    assert master_key_path(config) == config.master_key_file  # nothing handed over
    (tmp_path / "creds" / "master.key").write_text("{}")  # LoadCredential=master.key:FILE
    assert master_key_path(config) == tmp_path / "creds" / "master.key"
    (tmp_path / "creds" / "etc_master.key").write_text("{}")  # LoadCredential=etc:DIR, DIR/master.key
    assert master_key_path(config) == tmp_path / "creds" / "etc_master.key"


async def test_a_rotated_tenant_key_seals_new_data_and_old_data_stays_readable(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    await store.append("city", batch("s", 0, 5), 1)
    await store.seal("city")
    first = store.keys.active("city")[0]
    second = store.rotate_tenant_key("city")
    await store.append("city", batch("s", 5, 5), 1)
    await store.seal("city")
    rows = store._existing("city").catalog.segments()
    assert [r.tenant_key for r in rows] == [first, second]
    assert [v.active for v in store.key_versions("city")] == [False, True]
    store.close()
    reopened = make_store(tmp_path)
    assert len(lines(reopened, "city")) == 10
    assert reopened.verify("city").clean


async def test_rotating_the_master_key_rewraps_keys_and_leaves_data_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = make_store(data)
    await store.append("city", batch("s", 0, 5), 1)
    await store.seal("city")
    segment = next((data / "tenants/city/segments").iterdir())
    before = segment.read_bytes()
    old_master = master_keys(data).current()
    store.close()
    config = CollectorConfig(data_dir=data, keys=KeysConfig(master_key_file=data.parent / "data.master.key"))
    backup_keys(config, tmp_path / "keys-before.json")
    plan, nothing = rotate_master_key(config, None)  # a dry run first: a guarded operation
    assert nothing is None and plan.current == old_master and plan.tenant_keys == 1
    assert master_keys(data).ids() == [old_master]
    with pytest.raises(UsageError, match="must repeat the current master key version"):
        rotate_master_key(config, "mk-wrong")
    _, done = rotate_master_key(config, old_master)
    assert done is not None
    new, retired, count = done
    assert retired == [old_master] and count == 1 and new != old_master
    outcomes = [(e["action"], e["outcome"]) for e in AuditTrail(data / "audit.log", Signer.load(
        data / "keys", master_keys(data))).entries()]
    assert outcomes == [("keys.rotate_master", o) for o in ("dry_run", "refused", "done")]
    assert segment.read_bytes() == before  # no data rewritten
    tenant_file = orjson.loads((data / "keys/tenants/city.json").read_bytes())
    assert {v["master"] for v in tenant_file["versions"]} == {new}
    reopened = make_store(data)
    assert len(lines(reopened, "city")) == 5 and reopened.verify("city").clean
    reopened.close()
    # A key backup from before the rotation is useless now: its wrapping key is gone.
    (data / "keys/tenants/city.json").unlink()
    restore_keys(config, tmp_path / "keys-before.json")
    with pytest.raises(Unreadable, match=f"master key {old_master} is not in"):
        make_store(data).keys.key("city", tenant_file["versions"][0]["id"])


async def test_a_destroyed_tenant_key_reads_as_destroyed_and_leaves_no_trace(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    await store.append("city", batch("s", 0, 3), 1)
    key_id, key = store.keys.active("city")
    assert store.keys.destroy("city") == [key_id]
    assert not (tmp_path / "keys/tenants/city.json").exists()
    with pytest.raises(Unreadable, match=r"destroyed at .* \(crypto-erase\)") as e:
        store.keys.key("city", key_id)
    encoded = base64.b64encode(key).decode()
    assert key.hex() not in str(e.value) and encoded not in str(e.value)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert key not in content and encoded.encode() not in content, path


def test_keys_are_generated_from_the_system_random_source(monkeypatch: pytest.MonkeyPatch) -> None:
    from collector.store import crypto

    calls: list[int] = []
    real = os.urandom
    monkeypatch.setattr(crypto.os, "urandom", lambda n: calls.append(n) or real(n))
    assert len(crypto.new_key()) == 32 and calls == [32]
