"""Keys and the signing key in the cluster's replicated key-value bucket, so that every
collector uses the same ones; wrapped by the master key exactly as in the local store
(docs/keys.md). Each collector holds the same master key file.

Key entries (``keys.<tenant>``, ``destroyed.<tenant>``, ``signing``) change only by
compare-and-set on their revision: two collectors making a tenant's first key at once end
with one key, never two, so no data is ever wrapped by a key the other overwrote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from collector.store.jetstream.bridge import Bridge
from collector.store.jetstream.retry import retrying
from collector.store.keys import MasterKeys, Signer, TenantKeys

__all__ = ["KvTenantKeys", "KvText", "shared_signer"]

T = TypeVar("T")


class KvText:
    """Blocking JSON get / compare-and-set on one bucket, through the bridge."""

    def __init__(self, bridge: Bridge, kv: KeyValue, deadline: float = 30.0) -> None:
        self.bridge, self.kv, self.deadline = bridge, kv, deadline

    def _run(self, make: Callable[[], Awaitable[T]], what: str) -> T:
        """Through a leader election or a restart, until the deadline (retry.py)."""
        return self.bridge.run(retrying(make, what, self.deadline))

    def get(self, key: str) -> tuple[dict[str, Any] | None, int]:
        """The document and its revision (None and 0 when absent or deleted)."""
        async def go() -> tuple[dict[str, Any] | None, int]:
            try:
                entry = await self.kv.get(key)
            except KeyNotFoundError:
                return None, 0
            if not entry.value:
                return None, 0
            return orjson.loads(entry.value), int(entry.revision or 0)
        return self._run(go, f"reading {key}")

    def put_if(self, key: str, doc: dict[str, Any], revision: int) -> bool:
        """Write ``doc`` if the key is still at ``revision`` (0: absent); False if it moved."""
        async def go() -> bool:
            data = orjson.dumps(doc)
            try:
                if revision:
                    await self.kv.update(key, data, last=revision)
                else:
                    await self.kv.create(key, data)
            except KeyWrongLastSequenceError:
                return False
            except KeyNotFoundError:
                # nats-py's create, refused because the key exists, reads it back to tell a
                # deleted key; a replica behind the leader may not have it yet (seen when two
                # collectors made a tenant's first key at once): refused all the same.
                return False
            return True
        return self._run(go, f"writing {key}")

    def put(self, key: str, doc: dict[str, Any]) -> None:
        self._run(lambda: self.kv.put(key, orjson.dumps(doc)), f"writing {key}")

    def purge(self, key: str) -> None:
        self._run(lambda: self.kv.purge(key), f"purging {key}")

    def keys(self, prefix: str) -> list[str]:
        """The live keys under ``prefix``. From the bucket stream's subjects, each read once
        (nats-py's ``keys`` and ``watch`` can miss entries delivered before their set-up)."""
        async def go() -> list[str]:
            stream, pre = self.kv._stream, self.kv._pre
            info = await self.kv._js.stream_info(stream, subjects_filter=f"{pre}{prefix}>")
            found = []
            for subject in sorted(info.state.subjects or {}):
                key = subject[len(pre):]
                try:
                    entry = await self.kv.get(key)
                except KeyNotFoundError:  # deleted or purged: only its marker is left
                    continue
                if entry.value:
                    found.append(key)
            return found
        return self._run(go, f"listing {prefix}*")


class _Race(Exception):
    """Another collector changed the key document first."""


class KvTenantKeys(TenantKeys):
    """`TenantKeys` whose documents live in the bucket instead of ``keys/tenants/``."""

    def __init__(self, store: KvText, master: MasterKeys) -> None:
        super().__init__(_NO_DIRECTORY, master)
        self.store = store
        self._revisions: dict[str, int] = {}

    def _load(self, tenant: str) -> dict[str, Any] | None:
        doc, revision = self.store.get(f"keys.{tenant}")
        self._revisions[tenant] = revision
        return doc

    def _save(self, tenant: str, doc: dict[str, Any]) -> None:
        if not self.store.put_if(f"keys.{tenant}", doc, self._revisions.get(tenant, 0)):
            raise _Race(tenant)
        self._revisions[tenant] = 0  # unknown until read again

    def active(self, tenant: str) -> tuple[str, bytes]:
        for _ in range(20):
            try:
                return super().active(tenant)
            except _Race:
                continue  # the other collector's first version is the one: read it
        raise RuntimeError(f"the key document of tenant {tenant} keeps changing under this collector")

    def rotate(self, tenant: str) -> str:
        for _ in range(20):
            try:
                return super().rotate(tenant)
            except _Race:
                continue
        raise RuntimeError(f"the key document of tenant {tenant} keeps changing under this collector")

    def destroy(self, tenant: str) -> list[str]:
        with self._lock:
            doc = self._load(tenant)
            ids = [v["id"] for v in (doc or {}).get("versions", [])]
            self.forget(tenant)
            self.store.put(f"destroyed.{tenant}", {"tenant": tenant, "ids": ids, "at": _now()})
            self.store.purge(f"keys.{tenant}")  # every revision, not only the latest
            return ids

    def forget(self, tenant: str) -> None:
        """Drop this process's unwrapped copies of the tenant's keys (another collector erased it)."""
        with self._lock:
            for key in [k for k in self._cache if k[0] == tenant]:
                del self._cache[key]

    def destroyed(self, tenant: str) -> dict[str, Any]:
        return self.store.get(f"destroyed.{tenant}")[0] or {}

    def forget_destruction(self, tenant: str) -> None:
        self.store.purge(f"destroyed.{tenant}")

    def tenants(self) -> list[str]:
        return sorted(k.removeprefix("keys.") for k in self.store.keys("keys."))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class _NoDirectory:
    """Stands for the local keyring's directory, which this keyring never touches."""

    def __truediv__(self, other: str) -> _NoDirectory:
        return self


_NO_DIRECTORY: Any = _NoDirectory()


def shared_signer(store: KvText, master: MasterKeys) -> Signer:
    """The cluster's one checkpoint signing key: made by the first collector, read by the others."""
    for _ in range(20):
        doc, _ = store.get("signing")
        if doc is not None:
            return Signer.from_document(doc, master)
        store.put_if("signing", Signer.new_document(master), 0)
    raise RuntimeError("the signing key entry keeps changing under this collector")
