"""On the JetStream store: this collector's audit trail copied into the cluster, so that any
collector can answer for all (audit_cluster.py, docs/scale-out.md).

``data_dir/audit.log`` stays the source of truth, written as on a local store. One task per
collector follows the file (so entries written by ``chronolog-collector`` commands beside the
service are copied too) and publishes each complete line, as its exact bytes and in order, to
the stream ``<prefix>-audit``, subject ``<prefix>.audit.<collector>``. A line's message id is
``<collector>-<line number>``: a publish sent again after a lost acknowledgement is stored
once. At start the task resumes after the line number of the last message the stream holds
for this collector. A step waits through a leader election (up to ``RETRY_SECONDS``); a
cluster that does not answer by then is counted and said, and the lines wait in the file: the
request being audited never waits for the cluster.

Entries that ``chronolog-collector`` commands write are signed with the collector's own key
(``data_dir/keys/signing.json``), the service's with the cluster's: the task also puts that
key's public half, signed with the cluster's key, in the catalog bucket
(``audit.signer.<collector>``), so that every collector can verify those entries.

The collector's name is collector/identity.py's.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import nats.js.errors
import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge

from collector.store.chain import signed
from collector.store.jetstream.retry import retrying

if TYPE_CHECKING:
    from collector.store.jetstream.store import JetStreamStore

__all__ = ["LINE_HEADER", "SIGNERS", "AuditCopier", "audit_stream", "audit_subject", "ensure_audit_stream"]

log = logging.getLogger("collector.audit")

SIGNERS = "audit.signer."  # + collector name: its local signing key (catalog bucket)
LINE_HEADER = "Chronolog-Audit-Line"  # the line's number in its collector's audit.log
RETRY_SECONDS = 10.0  # a leader election takes 4 to 8 s after a server dies (docs/runbooks/cluster.md)
T = TypeVar("T")


def audit_stream(prefix: str) -> str:
    return f"{prefix}-audit"


def audit_subject(prefix: str, name: str) -> str:
    return f"{prefix}.audit.{name}"


async def ensure_audit_stream(store: JetStreamStore) -> None:
    """The deployment's audit stream, made if absent, as the store makes its own."""
    prefix = store.config.prefix
    await store.ensure_stream(store.stream_config(audit_stream(prefix), f"{prefix}.audit.*"))


class AuditCopier:
    """Copies ``trail_path``'s complete lines not yet in the stream, in order."""

    def __init__(self, store: JetStreamStore, trail_path: Path, name: str, keys_dir: Path | None = None,
                 registry: CollectorRegistry | None = None, interval: float = 1.0) -> None:
        self.store, self.path, self.name, self.interval = store, trail_path, name, interval
        self.keys_dir = keys_dir
        self._signer_shared = keys_dir is None
        self.subject = audit_subject(store.config.prefix, name)
        self.copied: int | None = None  # lines in the stream; None until read from it
        self._offset = 0  # bytes of the file those lines take
        self._failing = False
        registry = registry if registry is not None else CollectorRegistry()
        self.pending = Gauge("chronolog_collector_audit_copy_pending", "Entries of this collector's "
                             "audit trail not yet copied to the cluster.", registry=registry)
        self.failures = Counter("chronolog_collector_audit_copy_failures", "Attempts to copy the "
                                "audit trail to the cluster that failed (the cluster did not answer).",
                                registry=registry)

    async def run(self) -> None:
        """Copy every ``interval`` seconds until cancelled; failures are counted and retried."""
        while True:
            await self.step()
            await asyncio.sleep(self.interval)

    async def step(self) -> bool:
        """Copy what is new; False when the cluster failed (counted, said once per outage)."""
        try:
            await self._copy()
        except Exception as e:  # whatever the cluster answers, the lines wait in the file
            self.failures.inc()
            if not self._failing:
                log.warning("copying the audit trail to the cluster failed; will retry",
                            extra={"collector": self.name, "error": type(e).__name__})
            self._failing = True
            return False
        if self._failing:
            log.info("the audit trail is copied to the cluster again", extra={"collector": self.name})
        self._failing = False
        return True

    async def _copy(self) -> None:
        if self.copied is None:
            self.copied = await self.store.bridge.call(self._retried(self._resume, "reading the copy's end"))
            self._offset = await asyncio.to_thread(_offset_of, self.path, self.copied)
        if not self._signer_shared:
            self._signer_shared = await asyncio.to_thread(self._share_signer)
        lines = await asyncio.to_thread(self._new_lines)
        self.pending.set(len(lines))
        for line in lines:
            await self.store.bridge.call(self._retried(partial(self._publish, line, self.copied + 1),
                                                       "copying the audit trail"))
            self.copied += 1
            self._offset += len(line) + 1
            self.pending.dec()

    def _retried(self, make: Callable[[], Awaitable[T]], what: str) -> Coroutine[Any, Any, T]:
        """``make()`` through a leader election (a stream just made, a server restarting: a
        few seconds) before the step counts as failed; the loop tries again anyway."""
        return retrying(make, what, min(RETRY_SECONDS, self.store.config.write_deadline))

    async def _resume(self) -> int:
        await ensure_audit_stream(self.store)
        try:
            last = await self.store.js.get_last_msg(audit_stream(self.store.config.prefix), self.subject)
        except nats.js.errors.NotFoundError:
            return 0
        return int((last.headers or {}).get(LINE_HEADER, 0))

    async def _publish(self, line: bytes, number: int) -> None:
        await self.store.js.publish(self.subject, line, timeout=self.store.config.ack_timeout,
                                    stream=audit_stream(self.store.config.prefix),
                                    headers={"Nats-Msg-Id": f"{self.name}-{number}",
                                             LINE_HEADER: str(number)})

    def _share_signer(self) -> bool:
        """Put the local signing key's public half in the cluster, signed with the cluster's
        key; False while there is none (blocking)."""
        assert self.keys_dir is not None
        try:
            doc = orjson.loads((self.keys_dir / "signing.json").read_bytes())
            shared = {"collector": self.name, "id": str(doc["id"]), "public": str(doc["public"])}
        except FileNotFoundError:
            return False
        except (OSError, ValueError, KeyError, TypeError) as e:  # verify will name what it signed
            log.warning("the local signing key cannot be read; not shared",
                        extra={"collector": self.name, "error": type(e).__name__})
            return True
        self.store.text.put(f"{SIGNERS}{self.name}", signed(shared, self.store.signer))
        return True

    def _new_lines(self) -> list[bytes]:
        """The complete lines after those copied (blocking)."""
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < self._offset:
                    # Cut or replaced under us: the cluster keeps what it was; copy what comes
                    # after as many lines as it holds.
                    log.warning("the audit trail is shorter than what was copied of it",
                                extra={"collector": self.name, "copied": self.copied})
                    self._offset = _offset_in(f, self.copied or 0)
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return []
        return data.split(b"\n")[:-1]  # the part after the last newline is torn or unwritten


def _offset_of(path: Path, lines: int) -> int:
    try:
        with open(path, "rb") as f:
            return _offset_in(f, lines)
    except FileNotFoundError:
        return 0


def _offset_in(f: BinaryIO, lines: int) -> int:
    """Where the ``lines``-th line of the open file ends (its end if it has fewer)."""
    offset = 0
    f.seek(0)
    for _, line in zip(range(lines), f, strict=False):
        if not line.endswith(b"\n"):
            break
        offset += len(line)
    return offset
