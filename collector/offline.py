"""What ``chronolog-collector`` does on a data directory directly, with the collector stopped
or not running at all: make and rotate the master key, verify offline (a store, a backup
archive, against an exported checkpoint), restore a backup.

These are local on purpose: a restore must work when there is no collector to ask, and a
master key rotation rewrites every key file, which only the owner of the store lock may do.
The store lock (``store.lock``) keeps them from running beside a collector.

Restore and master key rotation are guarded operations (docs/security.md): without
``confirm`` they only show what they would do; either way they are entries of the audit trail,
which the collector counts when it starts, so the alert fires even though it was stopped.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from chronolog.cliutil import Failure, UsageError
from chronolog.fsutil import atomic_write
from collector.admin.audit import AuditTrail
from collector.auth.admins import AdminAccounts
from collector.auth.credentials import ALL_TENANTS, Principal
from collector.config import CollectorConfig
from collector.store.backup import RestoreError, RestoreResult, restore_backup
from collector.store.keys import (
    FileMasterKeys,
    KeyringError,
    Signer,
    TenantKeys,
    master_key_path,
    rotate_master,
)
from collector.store.local import StoreLocked, lock_store
from collector.store.names import TENANT_NAME
from collector.store.verify import VerifyReport, verify_tenant

__all__ = ["RestorePlan", "RotationPlan", "backup_keys", "init_master", "local_audit", "local_principal",
           "restore", "restore_keys", "rotate_master_key", "rotation_plan", "verify"]


def _master(config: CollectorConfig) -> FileMasterKeys:
    try:
        return FileMasterKeys.load(master_key_path(config.keys))
    except KeyringError as e:
        raise Failure(str(e)) from None


def _keys(config: CollectorConfig) -> tuple[TenantKeys, Signer]:
    master = _master(config)
    try:
        signer = Signer.load(config.data_dir / "keys", master)
    except KeyringError as e:
        raise Failure(str(e)) from None
    return TenantKeys(config.data_dir / "keys", master), signer


def _locked(config: CollectorConfig) -> int:
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return lock_store(config.data_dir)
    except StoreLocked as e:
        raise Failure(str(e)) from None


def init_master(config: CollectorConfig) -> tuple[Path, str]:
    path = config.keys.master_key_file
    try:
        path.resolve().relative_to(config.data_dir.resolve())
    except ValueError:
        pass
    else:
        raise Failure(f"{path} is inside data_dir ({config.data_dir}); the master key must live "
                      "outside it, so that a copy of the data never carries its key")
    try:
        return path, FileMasterKeys.create(path).current()
    except KeyringError as e:
        raise Failure(str(e)) from None


def local_principal() -> Principal:
    """Who runs a local command: the operating-system user on this host."""
    return Principal("local", ALL_TENANTS, "admin", f"{getpass.getuser()}@{socket.gethostname()} (local)")


def local_audit(config: CollectorConfig) -> AuditTrail | None:
    """The audit trail, signed with the store's key; None before there is a master key
    (the first bootstrap commands of a new installation cannot be signed yet)."""
    try:
        master = FileMasterKeys.load(master_key_path(config.keys))
        signer = Signer.load_or_create(config.data_dir / "keys", master)
    except KeyringError:
        return None
    return AuditTrail(config.data_dir / "audit.log", signer)


def _record(config: CollectorConfig, action: str, tenant: str | None, outcome: str,
            details: dict[str, Any]) -> None:
    trail = local_audit(config)
    if trail is None:
        raise Failure("cannot write the audit trail: no master key (create it with "
                      "`chronolog-collector keys init`)")
    trail.append(local_principal(), action, tenant, outcome, details)


def _keys_in_data_dir(config: CollectorConfig, command: str) -> None:
    """Refuse a key command that works on data_dir/keys when the keys are elsewhere."""
    if config.store.backend == "jetstream":
        # A cluster's tenant keys, signing key and shared accounts are in its catalog bucket,
        # wrapped by the master key: a rotation here would retire what wraps them (unreadable
        # to this collector and to every collector the file is copied to); a backup or restore
        # would miss them.
        raise Failure(f"keys {command} works on the keys in data_dir; with store.backend = \"jetstream\" "
                      "the tenant keys, the signing key and the shared accounts' TOTP secrets are in "
                      "the cluster's catalog bucket, wrapped by the master key: not supported on this "
                      "backend yet (docs/scale-out.md)")


@dataclass(frozen=True, slots=True)
class RotationPlan:
    current: str
    versions: list[str]  # master key versions that would be retired
    tenant_keys: int  # tenant key versions that would be re-wrapped
    administrators: int  # administrators' TOTP secrets that would be re-wrapped
    investigators: int  # console investigators' TOTP secrets that would be re-wrapped


def _accounts(config: CollectorConfig, master: FileMasterKeys) -> AdminAccounts:
    return AdminAccounts(config.data_dir / "admins.json", master)


def _investigators(config: CollectorConfig, master: FileMasterKeys) -> AdminAccounts:
    return AdminAccounts(config.data_dir / "investigators.json", master, "investigator")


def rotation_plan(config: CollectorConfig) -> RotationPlan:
    master = _master(config)
    keys = TenantKeys(config.data_dir / "keys", master)
    count = sum(len(keys.versions(t)) for t in keys.tenants())
    return RotationPlan(master.current(), master.ids(), count, len(_accounts(config, master).accounts()),
                        len(_investigators(config, master).accounts()))


Rotated = tuple[str, list[str], int]  # new master version, retired versions, keys re-wrapped


def rotate_master_key(config: CollectorConfig, confirm: str | None) -> tuple[RotationPlan, Rotated | None]:
    """The plan, and unless ``confirm`` names the current master key version, nothing else."""
    _keys_in_data_dir(config, "rotate-master")
    fd = _locked(config)
    try:
        plan = rotation_plan(config)
        if confirm is None:
            _record(config, "keys.rotate_master", None, "dry_run", {"current": plan.current})
            return plan, None
        if confirm != plan.current:
            _record(config, "keys.rotate_master", None, "refused", {"reason": "bad confirmation"})
            raise UsageError(f"--confirm must repeat the current master key version {plan.current!r}")
        master = _master(config)
        done = rotate_master(master, config.data_dir / "keys", also=[_accounts(config, master).rewrap,
                                                                     _investigators(config, master).rewrap])
        _record(config, "keys.rotate_master", None, "done", {"new": done[0], "retired": done[1],
                                                            "rewrapped": done[2]})
        return plan, done
    finally:
        os.close(fd)


def _checkpoint(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as e:
        raise Failure(f"cannot read exported checkpoint {path}: {e}") from None
    if not isinstance(doc, dict):
        raise Failure(f"{path} is not an exported checkpoint")
    return doc


def verify(config: CollectorConfig, tenant: str | None, checkpoint: Path | None,
           backup: Path | None) -> list[VerifyReport]:
    if backup is not None:
        with _archive_keys(config) as (keys, signer), tempfile.TemporaryDirectory() as tmp:
            try:
                result = restore_backup(backup, Path(tmp), keys, signer.public, signer.id, install=False)
            except RestoreError as e:
                raise Failure(str(e)) from None
            return [result.report]
    keys, signer = _keys(config)
    exported = _checkpoint(checkpoint)
    # A running collector seals and expires as it likes: verify a live store through it
    # (`chronolog admin verify`), which holds sealing still while it checks.
    try:
        fd = lock_store(config.data_dir)
    except StoreLocked:
        raise Failure(f"a collector is running on {config.data_dir}: use `chronolog admin verify`, "
                      "or stop it first") from None
    try:
        tenants_dir = config.data_dir / "tenants"
        if tenant and not (tenants_dir / tenant).is_dir():
            raise Failure(f"no tenant {tenant!r} in {config.data_dir}")
        names = [tenant] if tenant else sorted(
            p.name for p in tenants_dir.glob("*") if p.is_dir() and TENANT_NAME.fullmatch(p.name))
        return [verify_tenant(tenants_dir / n, n, keys, signer.public, signer.id, exported) for n in names]
    finally:
        os.close(fd)


@contextlib.contextmanager
def _archive_keys(config: CollectorConfig) -> Iterator[tuple[TenantKeys, Signer]]:
    """The keys an archive of this store is checked with: data_dir's, or on a cluster
    collector the cluster's (its tenant keys and signing key are in the catalog bucket), read
    through a connection of this command's own, with a scratch cache."""
    if config.store.backend != "jetstream":
        yield _keys(config)
        return
    from collector.store import StoreUnavailable
    from collector.store.jetstream.store import JetStreamStore

    with tempfile.TemporaryDirectory() as cache:
        try:
            store = JetStreamStore(config.store.jetstream, _master(config), Path(cache),
                                   config.store.seal_settings(), seal_in_subprocess=False).open()
        except StoreUnavailable as e:
            raise Failure(str(e)) from None
        try:
            yield store.keys, store.signer
        finally:
            store.close()


@dataclass(frozen=True, slots=True)
class RestorePlan:
    result: RestoreResult  # restored is False for a dry run
    exists: bool  # the tenant is in the store already (a restore is then refused)


def restore(config: CollectorConfig, archive: Path, confirm: str | None) -> RestorePlan:
    """Verify ``archive``; install it only if clean and ``confirm`` names its tenant."""
    if config.store.backend == "jetstream":
        # Not yet: the tenant keys exist only in the cluster's catalog bucket (no key backup to
        # put them back from), and a restore would write segments, catalog entries and expiry
        # records into the cluster, in chain order, beside collectors that seal.
        raise Failure(f"restore puts an archive into data_dir; with store.backend = \"jetstream\" "
                      f"restoring into the cluster is not supported on this backend yet "
                      f"(docs/scale-out.md). Check the archive with `chronolog-collector verify "
                      f"--backup {archive}`; the tenant's data stays in the cluster's replicas "
                      "until it is erased")
    fd = _locked(config)
    try:
        keys, signer = _keys(config)
        preview = restore_backup(archive, config.data_dir, keys, signer.public, signer.id, install=False)
        tenant = preview.tenant
        exists = (config.data_dir / "tenants" / tenant).exists()
        details = {"archive": archive.name, "segments": len(preview.manifest["segments"]),
                   "clean": preview.report.clean}
        if confirm is None:
            _record(config, "restore", tenant, "dry_run", details)
            return RestorePlan(preview, exists)
        if confirm != tenant:
            _record(config, "restore", tenant, "refused", {**details, "reason": "bad confirmation"})
            raise UsageError(f"--confirm must repeat the tenant name {tenant!r}")
        try:
            result = restore_backup(archive, config.data_dir, keys, signer.public, signer.id)
        except RestoreError as e:
            _record(config, "restore", tenant, "refused", {**details, "reason": str(e)})
            raise
        _record(config, "restore", tenant, "done" if result.restored else "refused", details)
        return RestorePlan(result, exists)
    except RestoreError as e:
        raise Failure(str(e)) from None
    finally:
        os.close(fd)


def backup_keys(config: CollectorConfig, out: Path) -> int:
    """Write the key directory (tenant key versions and the signing key, all wrapped by the
    master key) to ``out``, mode 0600. Returns how many files. The master key is not included:
    keep its own copy elsewhere."""
    _keys_in_data_dir(config, "backup")
    if out.exists():
        raise Failure(f"{out} already exists; not overwriting a key backup")
    keys_dir = config.data_dir / "keys"
    files = {str(p.relative_to(keys_dir)): p.read_text() for p in sorted(keys_dir.rglob("*.json"))}
    if "signing.json" not in files:
        raise Failure(f"{keys_dir} holds no keys: not a chronolog store")
    atomic_write(out, orjson.dumps({"format": "chronolog-keys", "v": 1, "files": files},
                                   option=orjson.OPT_INDENT_2), mode=0o600)
    return len(files)


def restore_keys(config: CollectorConfig, source: Path) -> list[str]:
    """Put back the key files of a key backup that are absent; never replaces one."""
    _keys_in_data_dir(config, "restore")
    fd = _locked(config)
    try:
        doc = orjson.loads(source.read_bytes())
        if not isinstance(doc, dict) or doc.get("format") != "chronolog-keys":
            raise Failure(f"{source} is not a chronolog key backup")
        keys_dir = config.data_dir / "keys"
        restored = []
        for name, text in doc["files"].items():
            target = keys_dir / name
            if name not in ("signing.json",) and not (name.startswith("tenants/") and "/" not in name[8:]):
                raise Failure(f"{source}: unexpected file {name!r}")
            if not target.exists():
                atomic_write(target, text.encode(), mode=0o600)
                restored.append(name)
        return restored
    except (OSError, orjson.JSONDecodeError) as e:
        raise Failure(f"cannot read key backup {source}: {e}") from None
    finally:
        os.close(fd)
