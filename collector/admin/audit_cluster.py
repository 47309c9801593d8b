"""On the JetStream store: the audit trails of every collector of the cluster, read as one
(``GET /v1/audit``, docs/scale-out.md).

This collector's own entries are read from its ``audit.log`` (the source of truth, complete
at once); every other collector's from its copy in the stream ``<prefix>-audit``
(audit_copy.py), as far as it was copied: within about a second of being written while the
cluster answers, after it is back otherwise. Every read fetches the copies afresh, so that
what is verified is what the cluster holds now.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from collector.admin.audit import AuditTrail, parsed
from collector.admin.audit_verify import TrailFinding
from collector.store.chain import signature_ok

if TYPE_CHECKING:
    from collector.store.jetstream.store import JetStreamStore

__all__ = ["AUDIT_CLUSTER", "ClusterTrails", "CollectorTrail", "diverged"]

_BATCH = 512  # messages per pull request: an entry is well under 1 KiB


@dataclass(frozen=True, slots=True)
class CollectorTrail:
    collector: str
    lines: list[bytes]
    copy: bool  # the cluster's copy, not the file
    signers: dict[str, bytes]  # the collector's local signing keys by id (audit_copy.py)

    @property
    def label(self) -> str:
        return f"{self.collector} (cluster copy)" if self.copy else self.collector


class ClusterTrails:
    def __init__(self, store: JetStreamStore, name: str, local: AuditTrail) -> None:
        self.store, self.name, self.local = store, name, local

    def read(self) -> list[CollectorTrail]:
        """This collector's file, then every collector's copy in the cluster (this one's
        included), by name (blocking). `StoreUnavailable` when the cluster does not answer
        within ``write_deadline``."""
        # Imported here: audit_http.py imports this module, and a collector on the local
        # store never loads the NATS client.
        from collector.store.jetstream.retry import retrying

        copies = self.store.bridge.run(retrying(self._copies, "reading the audit trails",
                                                self.store.config.write_deadline))
        signers = self._signers()
        return [CollectorTrail(self.name, self.local.lines(), False, signers.get(self.name, {})),
                *(CollectorTrail(name, lines, True, signers.get(name, {}))
                  for name, lines in sorted(copies.items()))]

    def _signers(self) -> dict[str, dict[str, bytes]]:
        """Each collector's local signing keys, as shared signed with the cluster's key (a
        document not so signed is ignored: its entries then fail to verify)."""
        from collector.admin.audit_copy import SIGNERS

        found: dict[str, dict[str, bytes]] = {}
        for key in self.store.text.keys(SIGNERS):
            doc = self.store.text.get(key)[0]
            name = key.removeprefix(SIGNERS)
            if doc is None or doc.get("collector") != name or not signature_ok(doc, self.store.signer.public):
                continue
            try:
                public = base64.b64decode(str(doc["public"]), validate=True)
            except (KeyError, ValueError):
                continue
            found.setdefault(name, {})[str(doc["id"])] = public
        return found

    async def _copies(self) -> dict[str, list[bytes]]:
        import nats.js.errors

        from collector.admin.audit_copy import audit_stream
        from collector.store.jetstream.reading import read_after

        js, prefix = self.store.js, self.store.config.prefix
        stream, subjects = audit_stream(prefix), f"{prefix}.audit."
        try:
            info = await js.stream_info(stream, subjects_filter=f"{subjects}*")
        except nats.js.errors.NotFoundError:
            return {}  # no collector has copied anything yet
        found: dict[str, list[bytes]] = {}
        for subject in sorted(info.state.subjects or {}):
            lines = found.setdefault(subject.removeprefix(subjects), [])

            def keep(_seq: int, data: bytes, into: list[bytes] = lines) -> None:
                into.append(data)

            await read_after(js, stream, subject, 0, self.store.config.ack_timeout, keep, lambda: False,
                             _BATCH)
        return found


def diverged(trail: CollectorTrail, copy: CollectorTrail) -> TrailFinding | None:
    """Where a collector's file parts from its copy in the cluster, which must be the file's
    first lines (the copy keeps what a cut or a rewrite of the file took away)."""
    for i, copied in enumerate(copy.lines):
        if i >= len(trail.lines):
            what = f"lines {i + 1} to {len(copy.lines)}"
            return TrailFinding("removed", what, f"{what} of the cluster's copy are gone from the file",
                                _tenant(copied))
        if trail.lines[i] != copied:
            return TrailFinding("rewritten", f"line {i + 1}", "it differs from the cluster's copy of it",
                                _tenant(copied))
    return None


def _tenant(line: bytes) -> str | None:
    entry = next(parsed([line]), None)
    tenant = entry.get("tenant") if entry else None
    return tenant if isinstance(tenant, str) else None


AUDIT_CLUSTER = web.AppKey("audit_cluster", ClusterTrails)
