"""The audit record of administrative operations: one JSON line per request, fsync'd.

Every admin request is recorded, dry runs and refusals included, with who asked (credential
id, name, role), what, for which tenant, and the outcome. It is written before the answer
leaves. (The security issue will chain and sign this record like the store's segments.)
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import orjson

from chronolog.timefmt import now_us, to_rfc3339
from collector.auth.credentials import Principal

__all__ = ["AuditLog"]


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, principal: Principal | None, action: str, tenant: str | None, outcome: str,
               details: dict[str, Any] | None = None) -> None:
        entry = {
            "at": to_rfc3339(now_us(), "UTC"), "action": action, "tenant": tenant, "outcome": outcome,
            "credential": principal.credential_id if principal else None,
            "name": principal.name if principal else None,
            "role": principal.role if principal else None,
            "details": details or {},
        }
        line = orjson.dumps(entry) + b"\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def entries(self) -> list[dict[str, Any]]:
        try:
            return [orjson.loads(x) for x in self.path.read_bytes().splitlines() if x.strip()]
        except FileNotFoundError:
            return []
