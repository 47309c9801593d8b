"""The fleet registry on disk: one JSON file per tenant in ``data_dir/fleet/``, replaced
atomically (`chronolog.fsutil.atomic_write`) when the tenant changed since the last save.

A file that cannot be read is set aside (renamed ``*.unreadable``) and the tenant starts
afresh: the registry is a view of what arrives, rebuilt by the next pushes; the lines
themselves are in the store.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import orjson

from chronolog.fsutil import atomic_write
from collector.fleet.registry import Registry
from collector.store.names import TENANT_NAME

__all__ = ["FleetFiles"]

log = logging.getLogger("collector.fleet")


class FleetFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, tenant: str) -> Path:
        return self.directory / f"{tenant}.json"

    def load(self, registry: Registry) -> None:
        """Every tenant's file into ``registry`` (blocking)."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.json")):
            tenant = path.stem
            if not TENANT_NAME.fullmatch(tenant):
                continue
            try:
                registry.load(tenant, orjson.loads(path.read_bytes()))
            except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                aside = path.with_suffix(".unreadable")
                log.error("fleet registry file unreadable; set aside, the tenant's fleet view starts "
                          "afresh", extra={"file": str(path), "moved_to": str(aside), "error": str(e)})
                os.replace(path, aside)

    @staticmethod
    def changed(registry: Registry) -> list[tuple[str, bytes]]:
        """The documents of the tenants changed since the last call (in the event loop, where
        the registry changes)."""
        tenants = sorted(registry.dirty & set(registry.tenants))
        registry.dirty.clear()
        return [(tenant, registry.dump(tenant)) for tenant in tenants]

    def write(self, documents: list[tuple[str, bytes]]) -> None:
        """Replace each tenant's file (blocking: in a worker thread)."""
        for tenant, document in documents:
            atomic_write(self._path(tenant), document)

    def remove(self, tenant: str) -> None:
        """The tenant's file (erased)."""
        self._path(tenant).unlink(missing_ok=True)
