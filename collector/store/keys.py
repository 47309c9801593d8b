"""The key hierarchy (docs/keys.md): master key, tenant keys, the checkpoint signing key.

- The **master key** lives outside the data directory: a 0600 file by default
  (`FileMasterKeys`), or any `MasterKeys` (an external KMS implements the same three calls).
  The file may hold several versions; the newest wraps, every one still listed unwraps.
- A **tenant key** per tenant, AES-256, stored only wrapped by the master key in
  ``<data_dir>/keys/tenants/<tenant>.json``. Rotation adds a version; older versions stay so
  that data sealed under them stays readable without being rewritten. Destruction removes
  every version: that is the crypto-erase (collector/store/erase.py).
- The **signing key** (Ed25519) signs checkpoints and disposal reports; its private half is
  stored wrapped by the master key, its public half is exported with every checkpoint.
- **Data keys** (one per WAL file and per segment) are made and wrapped by the tenant key
  where they are used (wal.py, segment.py).

No function here logs or returns key material in an error.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson
from pydantic import Field

from chronolog.config_loading import StrictModel
from chronolog.fsutil import atomic_write, fsync_dir
from chronolog.systemd import handed_over
from collector.store.crypto import (
    KEY_BYTES,
    Unreadable,
    new_id,
    new_key,
    new_signing_key,
    signing_function,
    unwrap_key,
    wrap_key,
)

__all__ = [
    "FileMasterKeys",
    "KeyVersion",
    "KeyringError",
    "KeysConfig",
    "MasterKeys",
    "Signer",
    "TenantKeys",
    "master_key_path",
    "rotate_master",
]

class KeysConfig(StrictModel):
    master_key_file: Path = Field(
        Path("/etc/chronolog/collector/master.key"),
        description="The master key file, outside data_dir, mode 0600 (create it with "
        "`chronolog-collector keys init`). The unit hands /etc/chronolog/collector/ over to the "
        "service (LoadCredential=), which reads systemd's copy.",
    )


class KeyringError(Exception):
    """A key file that cannot be used; the message says which file and what to do."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def master_key_path(config: KeysConfig) -> Path:
    """The master key file to read: systemd's copy when the unit handed it over, else the
    config's (chronolog.systemd)."""
    return handed_over(config.master_key_file)


class MasterKeys(Protocol):
    """The root of the hierarchy. An external KMS implements these three calls."""

    def current(self) -> str:
        """The id of the version that wraps new keys."""
        ...

    def wrap(self, key: bytes) -> tuple[str, bytes]:
        """``key`` wrapped by the current version, and that version's id."""
        ...

    def unwrap(self, master_id: str, wrapped: bytes) -> bytes:
        """Raises `Unreadable` if ``master_id`` is unknown or ``wrapped`` does not unwrap."""
        ...


class FileMasterKeys:
    """Master key versions in one JSON file of mode 0600: ``{"keys": [{"id", "key", "created"}]}``."""

    def __init__(self, path: Path, versions: list[dict[str, str]]) -> None:
        self.path = path
        self._versions = versions

    @classmethod
    def create(cls, path: Path) -> FileMasterKeys:
        """Write a new master key file; refuses to replace an existing one."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        versions = [{"id": new_id("mk"), "key": _b64(new_key()), "created": _now()}]
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyringError(f"{path} already exists; not replacing a master key") from None
        with os.fdopen(fd, "wb") as f:
            f.write(orjson.dumps({"version": 1, "keys": versions}, option=orjson.OPT_INDENT_2))
            f.flush()
            os.fsync(f.fileno())
        fsync_dir(path.parent)
        return cls(path, versions)

    @classmethod
    def load(cls, path: Path) -> FileMasterKeys:
        try:
            st = path.stat()
        except (FileNotFoundError, PermissionError) as e:
            # Under systemd a key that exists is handed over; one that is not, is not there.
            hidden = " (or not readable by this user)" if isinstance(e, PermissionError) else ""
            raise KeyringError(f"no master key file at {path}{hidden}: create one with "
                               "`chronolog-collector keys init` as root (and back it up apart from "
                               "the data), then start the collector again; or set "
                               "collector.keys.master_key_file") from None
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise KeyringError(f"{path} is readable by group or others (mode "
                               f"{stat.S_IMODE(st.st_mode):04o}); expected 0600: chmod 600 {path}")
        try:
            doc = orjson.loads(path.read_bytes())
            versions = [{"id": str(v["id"]), "key": str(v["key"]), "created": str(v["created"])}
                        for v in doc["keys"]]
            if not versions or any(len(_unb64(v["key"])) != KEY_BYTES for v in versions):
                raise ValueError
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise KeyringError(f"{path} is not a chronolog master key file") from None
        return cls(path, versions)

    def current(self) -> str:
        return self._versions[-1]["id"]

    def ids(self) -> list[str]:
        return [v["id"] for v in self._versions]

    def _key(self, master_id: str) -> bytes:
        for v in self._versions:
            if v["id"] == master_id:
                return _unb64(v["key"])
        raise Unreadable(f"master key {master_id} is not in {self.path}")

    def wrap(self, key: bytes) -> tuple[str, bytes]:
        master_id = self.current()
        return master_id, wrap_key(self._key(master_id), key)

    def unwrap(self, master_id: str, wrapped: bytes) -> bytes:
        return unwrap_key(self._key(master_id), wrapped)

    def add_version(self) -> str:
        self._versions.append({"id": new_id("mk"), "key": _b64(new_key()), "created": _now()})
        self._save()
        return self.current()

    def retire(self, keep: str) -> list[str]:
        """Remove every version but ``keep``; returns the removed ids."""
        removed = [v["id"] for v in self._versions if v["id"] != keep]
        self._versions = [v for v in self._versions if v["id"] == keep]
        self._save()
        return removed

    def _save(self) -> None:
        atomic_write(self.path, orjson.dumps({"version": 1, "keys": self._versions},
                                             option=orjson.OPT_INDENT_2), mode=0o600)


@dataclass(frozen=True, slots=True)
class KeyVersion:
    """One tenant key version as shown to an administrator (never the key)."""

    id: str
    created: str
    master: str
    active: bool


def _shred(path: Path) -> None:
    """Overwrite a small key file with zeros before unlinking it. On a journaling or
    copy-on-write file system the old blocks may survive; what makes the erase hold is that
    every copy is wrapped by the master key (docs/keys.md)."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.write(b"\0" * size)
        f.flush()
        os.fsync(f.fileno())
    path.unlink()


class TenantKeys:
    """Every tenant's key versions, wrapped by the master key, unwrapped on demand and cached."""

    def __init__(self, directory: Path, master: MasterKeys) -> None:
        self.directory = directory / "tenants"
        self.master = master
        self._cache: dict[tuple[str, str], bytes] = {}
        self._lock = threading.RLock()

    def _path(self, tenant: str) -> Path:
        return self.directory / f"{tenant}.json"

    def _load(self, tenant: str) -> dict[str, Any] | None:
        try:
            doc: dict[str, Any] = orjson.loads(self._path(tenant).read_bytes())
        except FileNotFoundError:
            return None
        return doc

    def _save(self, tenant: str, doc: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(self._path(tenant), orjson.dumps(doc, option=orjson.OPT_INDENT_2), mode=0o600)

    def _new_version(self, tenant: str, doc: dict[str, Any]) -> tuple[str, bytes]:
        key = new_key()
        master_id, wrapped = self.master.wrap(key)
        key_id = new_id("tk")
        doc["versions"].append({"id": key_id, "master": master_id, "wrapped": _b64(wrapped),
                                "created": _now()})
        self._save(tenant, doc)
        self._cache[(tenant, key_id)] = key
        return key_id, key

    def active(self, tenant: str) -> tuple[str, bytes]:
        """The version that wraps new data keys (made on first use), and its key."""
        with self._lock:
            doc = self._load(tenant)
            if doc is None:
                return self._new_version(tenant, {"tenant": tenant, "versions": []})
            key_id = doc["versions"][-1]["id"]
            return key_id, self.key(tenant, key_id)

    def key(self, tenant: str, key_id: str) -> bytes:
        with self._lock:
            cached = self._cache.get((tenant, key_id))
            if cached is not None:
                return cached
            doc = self._load(tenant)
            for v in (doc or {}).get("versions", []):
                if v["id"] == key_id:
                    key = self.master.unwrap(v["master"], _unb64(v["wrapped"]))
                    self._cache[(tenant, key_id)] = key
                    return key
            raise Unreadable(self._absence(tenant, key_id))

    def _absence(self, tenant: str, key_id: str) -> str:
        destroyed = self.destroyed(tenant)
        if key_id in destroyed.get("ids", []):
            return f"tenant key {key_id} of {tenant} was destroyed at {destroyed['at']} (crypto-erase)"
        return f"tenant key {key_id} of {tenant} is not in the keyring"

    def versions(self, tenant: str) -> list[KeyVersion]:
        doc = self._load(tenant) or {"versions": []}
        n = len(doc["versions"])
        return [KeyVersion(v["id"], v["created"], v["master"], i == n - 1)
                for i, v in enumerate(doc["versions"])]

    def rotate(self, tenant: str) -> str:
        """A new active version; data sealed under older versions stays readable as it is."""
        with self._lock:
            doc = self._load(tenant) or {"tenant": tenant, "versions": []}
            return self._new_version(tenant, doc)[0]

    def destroy(self, tenant: str) -> list[str]:
        """Destroy every version of the tenant's key; returns their ids."""
        with self._lock:
            doc = self._load(tenant)
            ids = [v["id"] for v in (doc or {}).get("versions", [])]
            for key in [k for k in self._cache if k[0] == tenant]:
                del self._cache[key]
            if doc is not None:
                _shred(self._path(tenant))
            record = {"tenant": tenant, "ids": ids, "at": _now()}
            atomic_write(self.directory / f"{tenant}.destroyed.json", orjson.dumps(record), mode=0o600)
            fsync_dir(self.directory)
            return ids

    def destroyed(self, tenant: str) -> dict[str, Any]:
        """The record of a destruction (ids and time only), or ``{}``."""
        try:
            found: dict[str, Any] = orjson.loads((self.directory / f"{tenant}.destroyed.json").read_bytes())
        except FileNotFoundError:
            return {}
        return found

    def forget_destruction(self, tenant: str) -> None:
        """A tenant name used again after an erase starts a fresh keyring."""
        (self.directory / f"{tenant}.destroyed.json").unlink(missing_ok=True)

    def tenants(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json") if not p.stem.endswith(".destroyed"))

    def held_keys(self) -> Iterator[tuple[str, bytes]]:
        """Every tenant key version still held, labelled (for the erasure check only)."""
        for tenant in self.tenants():
            for v in self.versions(tenant):
                yield f"{tenant}/{v.id}", self.key(tenant, v.id)

    def rewrap(self) -> int:
        """Re-wrap every version under the master's current version; returns how many."""
        count = 0
        with self._lock:
            for tenant in self.tenants():
                doc = self._load(tenant)
                assert doc is not None
                for v in doc["versions"]:
                    key = self.master.unwrap(v["master"], _unb64(v["wrapped"]))
                    v["master"], wrapped = self.master.wrap(key)
                    v["wrapped"] = _b64(wrapped)
                    count += 1
                self._save(tenant, doc)
        return count


class Signer:
    """The collector's Ed25519 key for checkpoints and disposal reports."""

    def __init__(self, key_id: str, private: bytes, public: bytes) -> None:
        self.id = key_id
        self._sign = signing_function(private)  # every audit entry is signed: build the key once
        self.public = public

    @classmethod
    def load_or_create(cls, directory: Path, master: MasterKeys) -> Signer:
        path = directory / "signing.json"
        try:
            doc = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            doc = cls.new_document(master)
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(path, orjson.dumps(doc, option=orjson.OPT_INDENT_2), mode=0o600)
        return cls.from_document(doc, master)

    @staticmethod
    def new_document(master: MasterKeys) -> dict[str, Any]:
        """A new key pair as it is kept: the private half wrapped by the master key."""
        private, public = new_signing_key()
        master_id, wrapped = master.wrap(private)
        return {"id": new_id("sk"), "algorithm": "Ed25519", "public": _b64(public),
                "master": master_id, "wrapped": _b64(wrapped), "created": _now()}

    @classmethod
    def from_document(cls, doc: dict[str, Any], master: MasterKeys) -> Signer:
        private = master.unwrap(doc["master"], _unb64(doc["wrapped"]))
        return cls(doc["id"], private, _unb64(doc["public"]))

    @classmethod
    def load(cls, directory: Path, master: MasterKeys) -> Signer:
        """The existing signing key; raises `KeyringError` when there is none."""
        if not (directory / "signing.json").exists():
            raise KeyringError(f"{directory} holds no signing key: not a chronolog store's key directory")
        return cls.load_or_create(directory, master)

    def sign(self, data: bytes) -> bytes:
        return self._sign(data)

    @staticmethod
    def rewrap(directory: Path, master: MasterKeys) -> None:
        path = directory / "signing.json"
        if not path.exists():
            return
        doc = orjson.loads(path.read_bytes())
        private = master.unwrap(doc["master"], _unb64(doc["wrapped"]))
        doc["master"], wrapped = master.wrap(private)
        doc["wrapped"] = _b64(wrapped)
        atomic_write(path, orjson.dumps(doc, option=orjson.OPT_INDENT_2), mode=0o600)


def rotate_master(master: FileMasterKeys, keys_dir: Path,
                  also: Sequence[Callable[[MasterKeys], object]] = ()) -> tuple[str, list[str], int]:
    """Add a master version, re-wrap every tenant key and the signing key under it (and
    whatever else ``also`` re-wraps: the TOTP secrets of administrators and investigators),
    then retire the old versions. Data is not touched. Returns (new id, retired ids, keys re-wrapped)."""
    new = master.add_version()
    count = TenantKeys(keys_dir, master).rewrap()
    Signer.rewrap(keys_dir, master)
    for rewrap in also:
        rewrap(master)
    return new, master.retire(new), count
