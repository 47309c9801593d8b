"""Backup archives on the JetStream store, against a real 3-node NATS cluster on loopback: an
archive made through one collector of what the cluster holds, in backup.py's format, checked
by the local store's restore verifier; it holds no key; once the tenant is erased it opens
to nobody, and the disposal report lists it and says so."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from support.jetstream import stores
from support.nats import NatsCluster
from support.processes import BIN
from support.stores import batch, flip_byte

from collector.admin.disposal import disposal_report
from collector.store import DamagedPart
from collector.store.backup import restore_backup
from collector.store.catalog import Catalog
from collector.store.jetstream.store import JetStreamStore


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]


def check(store: JetStreamStore, archive: Path, root: Path):  # type: ignore[no-untyped-def]
    """The archive unpacked and verified as a local archive is (no install)."""
    return restore_backup(archive, root, store.keys, store.signer.public, store.signer.id, install=False)


async def three_segments_from_two_collectors(a: JetStreamStore, b: JetStreamStore) -> None:
    for k, store in enumerate((a, b, a)):
        await store.append("city", batch("s", k * 100, 100, t0=k * 1_000_000), 1)
        assert await a.seal("city") == 1


async def backed_up_through(store: JetStreamStore, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """``store``'s archive of tenant city, as city.tar, and its manifest."""
    archive = tmp_path / "city.tar"
    with archive.open("wb") as f:
        manifest = store.backup("city", f, "alice")
    return archive, manifest


async def test_an_archive_made_through_any_collector_holds_the_cluster_s_segments_verified_without_keys(
        cluster: NatsCluster, tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        await three_segments_from_two_collectors(a, b)
        await a.append("city", batch("s", 300, 10, t0=3_000_000), 1)  # unsealed: not in the archive
        archive = tmp_path / "city.tar"
        with archive.open("wb") as f:
            manifest = b.backup("city", f, "alice")

        # The local store's format: the same members, the same manifest.
        inside = members(archive)
        assert sorted(inside) == ["catalog.sqlite", "checkpoints.log", "manifest.json",
                                  "segments/seg-00000001.cls", "segments/seg-00000002.cls",
                                  "segments/seg-00000003.cls"]
        assert manifest["format"] == "chronolog-tenant-backup" and manifest["tenant"] == "city"
        live = a.verify("city")
        assert (manifest["chain"]["length"], manifest["chain"]["head"]) == (3, live.head)
        # Each segment byte for byte as the cluster's object bucket holds it.
        mirror = a.mirror("city")
        for n in (1, 2, 3):
            name = mirror.object_name(n)
            assert name is not None
            assert inside[f"segments/seg-{n:08d}.cls"] == a.bridge.run(a._get_object("city", name))

        # The verifier of local archives: every tag, the chain, the signed checkpoints, the head.
        result = check(a, archive, tmp_path / "check")
        assert result.report.clean, result.report.findings
        assert (result.report.segments, result.report.chain_length, result.report.head) == (3, 3, live.head)
        assert result.report.checkpoint is not None and result.report.checkpoint["number"] == 3
        (tmp_path / "catalog.sqlite").write_bytes(inside["catalog.sqlite"])
        catalog = Catalog(tmp_path / "catalog.sqlite")
        assert sum(r.lines for r in catalog.segments()) == 300
        catalog.close()

        # No key in any form: the tenant key versions wrapped (as the catalog bucket holds
        # them) and raw, the signing key's document.
        doc, _ = a.keys.store.get("keys.city")
        assert doc is not None
        forms = []
        for version in doc["versions"]:
            wrapped = base64.b64decode(version["wrapped"])
            raw = a.keys.key("city", version["id"])
            forms += [wrapped, raw, version["wrapped"].encode(), wrapped.hex().encode(), raw.hex().encode(),
                        base64.b64encode(raw)]
        signing, _ = a.keys.store.get("signing")
        assert signing is not None
        forms += [str(v).encode() for k, v in signing.items() if "wrapped" in k or "private" in k]
        whole = archive.read_bytes()
        assert forms and not [s for s in forms if s in whole]

        # Recorded in the cluster: the erase plan lists it on either collector.
        [record] = a.erase_plan("city")["backups"]
        assert (record["id"], record["segments"], record["bytes"]) == (manifest["id"], 3, len(whole))
        assert record["sha256"] == hashlib.sha256(whole).hexdigest() and record["by"] == "alice"


async def test_an_archive_altered_after_it_was_made_fails_the_check(cluster: NatsCluster,
                                                                   tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        await three_segments_from_two_collectors(a, b)
        archive, _ = await backed_up_through(a, tmp_path)
        altered = tmp_path / "altered.tar"
        flip_byte(archive, altered, "segments/seg-00000002.cls")
        report = check(b, altered, tmp_path / "check").report
        assert not report.clean
        assert {(f.kind, f.where) for f in report.findings} == {("rewritten", "segment 2")}


async def test_an_erased_tenant_s_archive_opens_to_nobody_and_the_report_says_so(
        cluster: NatsCluster, tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        await three_segments_from_two_collectors(a, b)
        archive, manifest = await backed_up_through(b, tmp_path)
        assert check(b, archive, tmp_path / "before").report.clean  # readable until the erase

        plan = a.erase_plan("city")
        erased = await a.erase("city")
        report = disposal_report(report_id="r", plan=plan, erased=erased, credentials=[], person={},
                                 data_dir="unused")
        assert [x["id"] for x in report["media"]["backups"]] == [manifest["id"]]
        assert report["media"]["data_backed_up"] == "yes"
        notes = report["sanitization"]["notes"]
        assert "`chronolog admin backup` hold no key: they are unreadable" in notes
        assert f"catalog bucket ({a.config.prefix}-catalog)" in notes

        b.forget_erased()  # what b's sealing loop does every tick
        for store in (a, b):
            result = check(store, archive, tmp_path / f"after-{id(store)}")
            assert not result.report.clean
            # Every segment named, for the key destroyed: no block's tag could be checked.
            assert {(f.kind, f.where) for f in result.report.findings} == {
                ("unreadable", f"segment {n}") for n in (1, 2, 3)}
            assert all("destroyed" in f.detail for f in result.report.findings)
        # The list of archives made went with the tenant.
        assert a.backups("city") == []


async def test_a_segment_gone_without_an_expiry_is_named_not_archived(cluster: NatsCluster,
                                                                     tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        await three_segments_from_two_collectors(a, b)
        name = a.mirror("city").object_name(2)
        assert name is not None
        a.bridge.run(a._remove_objects("city", [name]))  # as someone deleting it by hand
        with pytest.raises(DamagedPart, match="segment 2"), (tmp_path / "city.tar").open("wb") as f:
            b.backup("city", f, "alice")
        assert b.backups("city") == []


async def test_segments_expired_by_retention_are_left_out_signed_off(cluster: NatsCluster,
                                                                    tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        await three_segments_from_two_collectors(a, b)
        a.set_retention("city", 30)
        a.add_hold("city", 2_000_000, 2_001_000, "case 42", "alice")  # keeps segment 3
        assert a.apply_retention("city", now=1_800_000_000_000_000)["segments"] == [1, 2]
        archive, manifest = await backed_up_through(b, tmp_path)
        assert [s["number"] for s in manifest["segments"]] == [3]
        assert [n for n in members(archive) if n.startswith("segments/")] == ["segments/seg-00000003.cls"]
        report = check(a, archive, tmp_path / "check").report
        assert report.clean, report.findings
        assert (report.segments, report.expired, report.chain_length) == (1, 2, 3)


def cluster_config(tmp_path: Path, store: JetStreamStore) -> Path:
    """A cluster collector's configuration for ``store``'s deployment (its master key, prefix)."""
    path = tmp_path / "collector.toml"
    path.write_text(
        f'[collector]\ndata_dir = "{tmp_path / "store"}"\n'
        f'[collector.keys]\nmaster_key_file = "{tmp_path / "master.key"}"\n'
        '[collector.store]\nbackend = "jetstream"\n'
        f"[collector.store.jetstream]\nservers = {json.dumps(store.config.servers)}\n"
        f'prefix = "{store.config.prefix}"\nplacement_tags = ["country:jp"]\nlease_seconds = 3.0\n'
        '[collector.store.jetstream.location]\ncountry = "JP"\nregion = "Tokyo"\n')
    return path


async def test_on_a_cluster_collector_verify_checks_an_archive_with_the_cluster_s_keys_and_restore_refuses(
        cluster: NatsCluster, tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        await three_segments_from_two_collectors(a, b)
        archive, _ = await backed_up_through(b, tmp_path)
        config = cluster_config(tmp_path, a)
        collector = BIN / "chronolog-collector"
        checked = subprocess.run([collector, "verify", "-c", config, "--backup", archive],
                                 capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "3 segments" in checked.stdout and "clean" in checked.stdout, checked.stdout

        for confirm in ([], ["--confirm", "city"]):
            refused = subprocess.run([collector, "restore", "-c", config, archive, *confirm],
                                     capture_output=True, text=True)
            assert refused.returncode == 1, refused.stderr
            assert 'store.backend = "jetstream"' in refused.stderr and "not supported" in refused.stderr
            assert f"chronolog-collector verify --backup {archive}" in refused.stderr
            assert "Traceback" not in refused.stderr
        assert not (tmp_path / "store" / "tenants").exists()

        await a.erase("city")
        erased = subprocess.run([collector, "verify", "-c", config, "--backup", archive],
                                capture_output=True, text=True)
        assert erased.returncode == 1 and "unreadable" in erased.stdout and "destroyed" in erased.stdout
