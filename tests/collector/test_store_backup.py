"""Backup archives and restoring them: only verified archives are put back, never over a
tenant that exists, and never anything but the store's own files."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest
from support.stores import batch, flip_byte, lines, make_store

from collector.store.backup import RestoreError, restore_backup
from collector.store.local import LocalStore


async def backed_up(root: Path, archive: Path) -> LocalStore:
    store = make_store(root)
    for k in range(3):
        await store.append("city", batch("s", k * 100, 100), 1)
        await store.seal("city")
    with archive.open("wb") as f:
        manifest = store.backup("city", f, "alice")
    assert [s["number"] for s in manifest["segments"]] == [1, 2, 3]
    return store


def restore(store: LocalStore, archive: Path, install: bool = True):  # type: ignore[no-untyped-def]
    return restore_backup(archive, store.root, store.keys, store.signer.public, store.signer.id, install)


async def test_a_backup_restores_whole_and_verified_into_a_store_without_the_tenant(tmp_path: Path) -> None:
    archive = tmp_path / "city.tar"
    store = await backed_up(tmp_path / "data", archive)
    with pytest.raises(RestoreError, match="exists"):
        restore(store, archive)
    store.close()
    shutil.rmtree(tmp_path / "data/tenants/city")
    store = make_store(tmp_path / "data")
    result = restore(store, archive)
    assert result.restored and result.report.clean and result.report.segments == 3
    store.close()
    assert len(lines(make_store(tmp_path / "data"), "city")) == 300


async def test_an_altered_archive_is_not_restored_and_says_what_is_wrong(tmp_path: Path) -> None:
    archive = tmp_path / "city.tar"
    store = await backed_up(tmp_path / "data", archive)
    altered = tmp_path / "altered.tar"
    flip_byte(archive, altered, "segments/seg-00000002.cls")
    result = restore(store, altered, install=False)
    assert not result.restored
    assert [(f.kind, f.where) for f in result.report.findings] == [("rewritten", "segment 2")] * 2


async def test_an_archive_with_foreign_members_is_refused(tmp_path: Path) -> None:
    store = make_store(tmp_path / "data")
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("../../etc/cron.d/x")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(RestoreError, match="unexpected member"):
        restore(store, evil)
    assert not (tmp_path / "etc").exists()
    (tmp_path / "junk.tar").write_bytes(b"not a tar")
    with pytest.raises(RestoreError, match="not a readable tar"):
        restore(store, tmp_path / "junk.tar")
