"""Backups of one tenant, and restoring them.

A backup is a tar archive of ciphertext and the catalog, never keys:
``manifest.json`` (tenant, chain length and head, the newest signed checkpoint, each segment's
digest), ``catalog.sqlite`` (a consistent SQLite snapshot), ``checkpoints.log`` and
``segments/seg-*.cls`` (checkpoints.log without the records of WAL files not yet sealed,
which the archive does not hold: wal_ledger.py). The tenant's keys are backed up apart from it, on purpose
(docs/keys.md): whoever holds an archive holds nothing readable, and destroying the tenant key
makes every archive of it unreadable. The same archive is made from a local tenant directory
and from a cluster collector's fresh copy of a tenant (jetstream/store.py), so one verifier
reads both.

A restore unpacks into a staging directory beside the tenant directories, verifies it (every
block's tag, the chain, the signed checkpoints, the manifest's head), and only then moves it
into place; a store whose tenant already exists is left alone.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from chronolog.fsutil import fsync_dir
from chronolog.timefmt import now_us
from chronolog.tool import TOOL
from collector.store.catalog import Catalog
from collector.store.crypto import new_id
from collector.store.keys import TenantKeys
from collector.store.names import TENANT_NAME
from collector.store.tenant import TenantStore
from collector.store.verify import VerifyReport, verify_tenant
from collector.store.wal_ledger import strip_unsealed

__all__ = ["RestoreError", "RestoreResult", "Written", "restore_backup", "write_archive", "write_backup"]

FORMAT = "chronolog-tenant-backup"
_MEMBER = re.compile(r"manifest\.json|catalog\.sqlite|checkpoints\.log|segments/seg-\d{8}\.cls")


class RestoreError(Exception):
    """An archive that cannot be restored; the message says why."""


class _Hashing(io.RawIOBase):
    """A write-only file that passes bytes on and hashes them."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.sha256, self.size = out, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.out.write(view)
        self.sha256.update(view)
        self.size += len(view)
        return len(view)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, now_us() // 1_000_000
    tar.addfile(info, io.BytesIO(data))


def write_backup(tenant: TenantStore, out: IO[bytes], by: str) -> dict[str, Any]:
    """Write ``tenant``'s sealed segments, catalog and checkpoints to ``out`` as a tar archive
    (seal the WAL first to include everything acknowledged). Returns the manifest."""
    with tempfile.TemporaryDirectory(dir=tenant.directory.parent) as tmp:
        with tenant.still():  # no seal, no expiry: catalog, files and checkpoints agree
            checkpoints = tenant.checkpoints.path.read_bytes() if tenant.checkpoints.path.exists() else b""
            written = write_archive(tenant.name, tenant.catalog, checkpoints, tenant.segment_dir,
                                    Path(tmp), out, by)
        tenant.catalog.add_backup(written.manifest["id"], written.manifest["created"],
                                  len(written.manifest["segments"]), written.size, written.sha256, by)
    return written.manifest


@dataclass(frozen=True, slots=True)
class Written:
    """An archive written: its manifest, size and SHA-256 (what the disposal report lists)."""

    manifest: dict[str, Any]
    size: int
    sha256: str

    def record(self) -> dict[str, Any]:
        """The entry of the store's list of backups made (``Catalog.backups``'s fields)."""
        m = self.manifest
        return {"id": m["id"], "created": m["created"], "segments": len(m["segments"]),
                "bytes": self.size, "sha256": self.sha256, "by": m["by"]}


def write_archive(name: str, catalog: Catalog, checkpoints: bytes, segment_dir: Path, scratch: Path,
                  out: IO[bytes], by: str) -> Written:
    """The archive of one tenant held in the local store's layout (a tenant directory, or a
    cluster collector's copy of the tenant with every live segment's file fetched): the
    caller keeps catalog, files and checkpoints from changing meanwhile. ``scratch``: a
    directory for the catalog's snapshot."""
    snapshot = scratch / "catalog.sqlite"
    catalog.snapshot(snapshot)
    checkpoints = strip_unsealed(checkpoints, catalog.sealed_wal())
    rows = [r for r in catalog.segments() if r.state == "live"]
    number, head = catalog.last()
    records = [orjson.loads(line) for line in checkpoints.splitlines() if line.strip()]
    seals = [r for r in records if r.get("kind") == "seal"]
    manifest: dict[str, Any] = {
        "format": FORMAT, "v": 1, "id": new_id("bk"), "tenant": name,
        "created": now_us(), "by": by, "tool": TOOL,
        "chain": {"length": number, "head": head.hex()},
        "checkpoint": seals[-1] if seals else None,
        "segments": [{"number": r.number, "file": r.file, "digest": r.digest,
                      "bytes": r.stored_bytes} for r in rows],
        "keys": "not included: tenant keys are backed up separately (docs/keys.md)",
    }
    sink = _Hashing(out)
    with tarfile.open(fileobj=sink, mode="w|") as tar:
        _add_bytes(tar, "manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        tar.add(snapshot, "catalog.sqlite")
        _add_bytes(tar, "checkpoints.log", checkpoints)
        for r in rows:
            tar.add(segment_dir / r.file, f"segments/{r.file}")
    snapshot.unlink()
    return Written(manifest, sink.size, sink.sha256.hexdigest())


@dataclass
class RestoreResult:
    tenant: str
    manifest: dict[str, Any]
    report: VerifyReport
    restored: bool


def _unpack(archive: Path, into: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, mode="r:") as tar:
            for member in tar:
                if not member.isfile() or not _MEMBER.fullmatch(member.name):
                    raise RestoreError(f"{archive}: unexpected member {member.name!r}: not a "
                                       "chronolog tenant backup")
                source = tar.extractfile(member)
                assert source is not None
                target = into / member.name
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                with source, open(target, "wb") as f:
                    shutil.copyfileobj(source, f)
                    os.fchmod(f.fileno(), 0o600)
                    os.fsync(f.fileno())
    except (tarfile.TarError, EOFError) as e:
        raise RestoreError(f"{archive}: not a readable tar archive ({e})") from None
    try:
        manifest: dict[str, Any] = orjson.loads((into / "manifest.json").read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        raise RestoreError(f"{archive}: no manifest.json: not a chronolog tenant backup") from None
    if manifest.get("format") != FORMAT or not TENANT_NAME.fullmatch(str(manifest.get("tenant", ""))):
        raise RestoreError(f"{archive}: not a chronolog tenant backup")
    (into / "manifest.json").unlink()
    for d in ("segments", "wal"):
        (into / d).mkdir(exist_ok=True, mode=0o700)
    return manifest


def restore_backup(archive: Path, root: Path, keys: TenantKeys, public_key: bytes, signer_id: str,
                   install: bool = True) -> RestoreResult:
    """Unpack and verify ``archive``; with ``install``, move it into ``root/tenants`` if clean.

    The caller holds the store lock (the collector is not running)."""
    tenants = root / "tenants"
    tenants.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = tenants / f".restore-{secrets.token_hex(4)}"
    staging.mkdir(mode=0o700)
    try:
        manifest = _unpack(archive, staging)
        tenant = str(manifest["tenant"])
        report = verify_tenant(staging, tenant, keys, public_key, signer_id)
        if report.head != manifest.get("chain", {}).get("head"):
            report.add("rewritten", "manifest", "the restored chain does not end where the backup's did")
        restored = False
        if install and report.clean:
            target = tenants / tenant
            if target.exists():
                raise RestoreError(f"tenant {tenant} exists in {root}; restore only into a store "
                                   "without it (erase it first, or use another data directory)")
            os.rename(staging, target)
            fsync_dir(tenants)
            restored = True
        return RestoreResult(tenant, manifest, report, restored)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
