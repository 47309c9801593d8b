"""Crypto-erase of one tenant (NIST SP 800-88 Rev. 1, "Cryptographic Erase", a Purge method).

1. Keep a sample of the tenant's ciphertext: one sealed block (or WAL record) and its wrapped
   data key, byte for byte as every backup holds it.
2. Destroy every version of the tenant key (keys.py): every data key of the tenant, in the
   store and in every backup, was wrapped by one of them, so all of it is now unreadable.
3. Delete the tenant's segments, WAL, catalog and chain records.
4. Check: try to decrypt the sample with every key the collector still holds (every other
   tenant's key versions, the master key). Each attempt must fail.

The caller revokes the tenant's credentials before, and writes the signed disposal report
after (collector/admin/disposal.py).
"""

from __future__ import annotations

import base64
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chronolog.fsutil import fsync_dir
from chronolog.timefmt import now_us
from collector.store.crypto import Unreadable, sha256, unwrap_key
from collector.store.keys import MasterKeys, TenantKeys
from collector.store.segment import SegmentHead
from collector.store.tenant import TenantStore
from collector.store.wal import parse_header

__all__ = ["Sample", "decrypt_attempts", "disk_usage", "erase_tenant", "take_sample"]


@dataclass(frozen=True, slots=True)
class Sample:
    """Ciphertext kept to show, after the erase, that it can no longer be decrypted."""

    source: str  # e.g. "seg-00000003.cls block 0"
    tenant_key: str
    wrapped_dek: bytes
    ciphertext: bytes

    def describe(self) -> dict[str, Any]:
        return {"source": self.source, "tenant_key": self.tenant_key,
                "wrapped_data_key": base64.b64encode(self.wrapped_dek).decode(),
                "ciphertext_sha256": sha256(self.ciphertext).hex(),
                "ciphertext_bytes": len(self.ciphertext)}


def take_sample(tenant: TenantStore) -> Sample | None:
    for row in tenant.catalog.segments():
        if row.state != "live":
            continue
        try:
            with open(tenant.segment_dir / row.file, "rb") as f:
                head = SegmentHead.read(f)
                return Sample(f"{row.file} block 0", head.keyslot["tenant_key"],
                              bytes.fromhex(head.keyslot["dek"]), head.read_sealed(f, 0))
        except (OSError, Unreadable):
            continue
    for path in sorted(tenant.wal_dir.glob("wal-*.log")):
        data = path.read_bytes()
        try:
            header, start = parse_header(data)
        except Unreadable:
            continue
        return Sample(f"{path.name} (records after byte {start})", header["tenant_key"],
                      bytes.fromhex(header["dek"]), data[start:])
    return None


def disk_usage(directory: Path) -> tuple[int, int]:
    """(files, bytes) under ``directory``."""
    files = size = 0
    for p in directory.rglob("*"):
        if p.is_file():
            files += 1
            size += p.stat().st_size
    return files, size


def decrypt_attempts(sample: Sample, tenant: str, keys: TenantKeys, master: MasterKeys) -> dict[str, Any]:
    attempts: list[str] = []
    opened_by: list[str] = []
    try:
        keys.key(tenant, sample.tenant_key)
        opened_by.append(f"tenant key {sample.tenant_key}")
    except Unreadable as e:
        attempts.append(f"tenant key {sample.tenant_key}: {e}")
    tried = 0
    for label, key in keys.held_keys():
        tried += 1
        try:
            unwrap_key(key, sample.wrapped_dek)
            opened_by.append(label)
        except Unreadable:
            pass
    attempts.append(f"{tried} tenant key versions of other tenants: none unwraps the data key")
    try:
        master.unwrap(master.current(), sample.wrapped_dek)
        opened_by.append("master key")
    except Unreadable:
        attempts.append("the master key: does not unwrap the data key")
    return {"sample": sample.describe(), "attempts": attempts, "decrypt_failed": not opened_by,
            "opened_by": opened_by}


def erase_tenant(tenant: TenantStore, keys: TenantKeys, master: MasterKeys) -> dict[str, Any]:
    """Destroy the tenant's keys, then its data; returns what was done and the check's result.
    The tenant store is closed and must not be used afterwards."""
    started = now_us()
    tenant.refusing = f"tenant {tenant.name} is being erased"
    rows = tenant.catalog.segments()
    sample = take_sample(tenant)
    files, size = disk_usage(tenant.directory)
    destroyed = keys.destroy(tenant.name)
    keys_done = now_us()
    tenant.close()
    shutil.rmtree(tenant.directory)
    fsync_dir(tenant.directory.parent)
    verification = (decrypt_attempts(sample, tenant.name, keys, master) if sample is not None
                    else {"sample": None, "attempts": ["the tenant held no data"], "decrypt_failed": True,
                          "opened_by": []})
    return {
        "tenant": tenant.name, "started": started, "keys_destroyed_at": keys_done, "finished": now_us(),
        "destroyed_key_ids": destroyed, "master_key": master.current(),
        "segments": len([r for r in rows if r.state == "live"]), "files_deleted": files,
        "bytes_deleted": size, "lines": sum(r.lines for r in rows if r.state == "live"),
        "min_ts": min((r.min_ts for r in rows if r.state == "live"), default=None),
        "max_ts": max((r.max_ts for r in rows if r.state == "live"), default=None),
        "verification": verification,
    }
