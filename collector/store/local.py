"""The store in a local directory: `Store` and `AdminStore` over one `TenantStore` per tenant.

Layout under ``data_dir``::

    store.lock                      held (flock) by the one process that owns the store
    keys/tenants/<tenant>.json      tenant key versions, wrapped by the master key (keys.py)
    keys/signing.json               the checkpoint signing key, wrapped by the master key
    tenants/<tenant>/               WAL, segments, catalog, checkpoints (tenant.py)

The master key is not here: it lives outside ``data_dir`` (collector.keys.master_key_file).
`maintain` runs beside the API: it seals WAL files into segments by size and age, and
applies retention.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import Field

from chronolog.config_loading import StrictModel
from chronolog.timefmt import now_us
from chronolog.wire import Batch
from collector.store import AppendResult, Part, StoreEvents, StoreReader, StoreUnavailable, StreamReport
from collector.store.backup import write_backup
from collector.store.catalog import Hold
from collector.store.chain import GENESIS, signed
from collector.store.crypto import new_id
from collector.store.erase import disk_usage, erase_tenant
from collector.store.feed import Feed, Follower
from collector.store.jetstream.config import JetStreamConfig
from collector.store.keys import KeyVersion, MasterKeys, Signer, TenantKeys
from collector.store.lines import LineBlock
from collector.store.names import TENANT_NAME
from collector.store.retention import expiring, summary
from collector.store.sealed import ChainExtract, SegmentSeal
from collector.store.sealing import InProcess, SealRunner, process_pool
from collector.store.segment import ZSTD_LEVEL
from collector.store.space import FreeSpace
from collector.store.tenant import SealSettings, TenantStore
from collector.store.verify import VerifyReport, verify_tenant

__all__ = ["LocalStore", "StoreConfig", "StoreLocked", "UnknownTenant", "lock_store"]

log = logging.getLogger("collector.store")


class StoreConfig(StrictModel):
    backend: Literal["local", "jetstream"] = Field(
        "local", description="Where the store is: \"local\" (data_dir, one collector) or "
        "\"jetstream\" (a NATS JetStream cluster shared by several collectors, docs/scale-out.md).",
    )
    jetstream: JetStreamConfig = Field(
        JetStreamConfig(), description="The NATS JetStream cluster, with backend = \"jetstream\".",
    )
    fsync: bool = Field(
        True, description="fsync before acknowledging. Turning it off loses acknowledged "
        "lines on a power failure; only for throwaway test stores.",
    )
    segment_max_bytes: int = Field(
        64 << 20, ge=1 << 16, le=1 << 30,
        description="A WAL file this large is sealed into a segment.",
    )
    segment_max_age: float = Field(
        300.0, gt=0, le=86_400,
        description="Seconds after its first line that a WAL file is sealed, however small.",
    )
    block_bytes: int = Field(
        1 << 20, ge=1 << 12, le=64 << 20,
        description="Raw bytes of lines per compressed, encrypted segment block.",
    )
    zstd_level: int = Field(
        ZSTD_LEVEL, ge=1, le=19,
        description="zstd level for segment blocks (higher: smaller segments, slower sealing).",
    )
    min_free_bytes: int = Field(
        512 << 20, ge=0,
        description="Appends are refused (503; agents keep the lines and retry) while the "
        "filesystem of data_dir has less free than this, so that sealing, retention and erasure "
        "can still write; they resume by themselves. 0: never refused.",
    )
    retention_days: int = Field(
        0, ge=0, description="Default retention in days for tenants without their own "
        "(`chronolog admin retention set`); 0 keeps everything.",
    )
    retention_check_interval: float = Field(
        3600.0, gt=0, description="Seconds between applications of retention.",
    )
    seal_in_subprocess: bool = Field(
        True, description="Build segments in separate processes, so sealing runs on other "
        "cores than ingest and queries, and below their CPU priority (nice +10).",
    )
    sealers: int = Field(
        2, ge=1, le=64, description="Segments built at once (sealer processes), for one tenant "
        "with a backlog or for several tenants; about the number of cores ingest leaves free.",
    )

    def seal_settings(self) -> SealSettings:
        # WAL files of a fraction of a segment, so that a burst is sealed by every sealer.
        sealers = self.sealers if self.seal_in_subprocess else 1
        wal_max = self.segment_max_bytes // sealers
        return SealSettings(self.fsync, self.segment_max_bytes, self.segment_max_age,
                            self.block_bytes, self.zstd_level, max(wal_max, 1 << 16))


class StoreLocked(Exception):
    """Another process owns the store."""


class LogEvents:
    """`StoreEvents` as log lines only (tools and tests; the collector uses its telemetry)."""

    def segment_sealed(self, tenant: str, lines: int, raw_bytes: int, stored_bytes: int) -> None:
        log.info("segment sealed", extra={"tenant": tenant, "lines": lines, "bytes": stored_bytes})

    def damage_found(self, tenant: str, where: str, detail: str) -> None:
        log.error("stored data damaged", extra={"tenant": tenant, "where": where, "detail": detail})

    def segments_expired(self, tenant: str, count: int) -> None:
        log.info("segments expired", extra={"tenant": tenant, "segments": count})


class LocalStore:
    """`collector.store.Store` and `AdminStore` on a local directory."""

    def __init__(self, root: Path, master: MasterKeys, config: StoreConfig | None = None,
                 events: StoreEvents | None = None) -> None:
        self.root = Path(root)
        self.master = master
        self.config = config or StoreConfig()
        self.events: StoreEvents = events or LogEvents()
        self._tenants: dict[str, TenantStore] = {}
        self.feed = Feed()
        self.space = FreeSpace(self.root, self.config.min_free_bytes)
        self._erasing: set[str] = set()
        self._lock_fd: int | None = None
        # One thread per tenant being sealed (each waits on its sealer processes), and for
        # retention and erasure.
        self._sealer = ThreadPoolExecutor(max_workers=self.config.sealers, thread_name_prefix="seal")
        self._runner: SealRunner = InProcess()
        self._stop_runner: Callable[[], None] = lambda: None
        self._sealing: dict[str, asyncio.Task[None]] = {}
        self.keys: TenantKeys
        self.signer: Signer

    @property
    def runner(self) -> SealRunner:
        """Where segments are prepared (the sealer processes once open)."""
        return self._runner

    # ---- lifecycle -------------------------------------------------------------------------

    def open(self) -> LocalStore:
        """Take the store lock, create the layout if needed, recover every tenant (blocking)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock_fd = lock_store(self.root)
        self.keys = TenantKeys(self.root / "keys", self.master)
        self.signer = Signer.load_or_create(self.root / "keys", self.master)
        (self.root / "tenants").mkdir(exist_ok=True, mode=0o700)
        if self.config.seal_in_subprocess:
            self._runner, self._stop_runner = process_pool(self.config.sealers)
        for entry in sorted((self.root / "tenants").iterdir()):
            if entry.is_dir() and TENANT_NAME.fullmatch(entry.name):
                self._tenants[entry.name] = self._open_tenant(entry.name)
        return self

    def _open_tenant(self, name: str) -> TenantStore:
        tenant = TenantStore.open(name, self.root / "tenants" / name, self.keys, self.signer,
                                  self.config.seal_settings(), self.events, self._runner)
        tenant.feed = self.feed
        return tenant

    def close(self) -> None:
        self._sealer.shutdown(wait=True)
        self._stop_runner()
        for tenant in self._tenants.values():
            tenant.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _tenant(self, name: str, create: bool = False) -> TenantStore | None:
        found = self._tenants.get(name)
        if found is None and create:
            if not TENANT_NAME.fullmatch(name):
                raise ValueError(f"invalid tenant name {name!r}")
            if name in self._erasing:  # a batch that passed authentication just before the revocation
                raise StoreUnavailable(f"tenant {name} is being erased")
            found = self._tenants[name] = self._open_tenant(name)
        return found

    def _existing(self, name: str) -> TenantStore:
        found = self._tenants.get(name)
        if found is None:
            raise UnknownTenant(f"no tenant {name!r} in this store")
        return found

    def tenants(self) -> list[str]:
        return sorted(self._tenants)

    def create_tenant(self, name: str) -> bool:
        """Make a tenant and its key now (``chronolog admin tenant create``); False if it exists."""
        if name in self._tenants:
            return False
        self.keys.forget_destruction(name)  # a name used again after an erase starts afresh
        self._tenant(name, create=True)
        self.keys.active(name)
        return True

    # ---- Store -----------------------------------------------------------------------------

    async def append(self, tenant: str, batch: Batch, received: int) -> AppendResult:
        self.space.check()
        found = self._tenant(tenant, create=True)
        assert found is not None
        return await found.append(batch, received)

    def scan(self, tenant: str, since: int, until: int, hosts: frozenset[str] = frozenset(),
             contains: str | None = None) -> Iterator[LineBlock]:
        found = self._tenants.get(tenant)
        return found.scan(since, until, hosts, contains) if found is not None else iter(())

    def follow(self, tenant: str) -> contextlib.AbstractContextManager[Follower]:
        return self.feed.follow(tenant)

    @contextlib.contextmanager
    def reader(self, tenant: str) -> Iterator[StoreReader]:
        found = self._tenants.get(tenant)
        if found is None:
            yield _NoLines()
            return
        with found.reader() as reader:
            yield reader

    def backlog(self) -> tuple[int, int | None]:
        """Over every tenant: WAL bytes not sealed yet, and when the oldest of those files was
        opened (µs; None when none). Tenants are not named: metrics carry no tenant labels."""
        found = [t.backlog() for t in list(self._tenants.values())]
        return (sum(size for size, _ in found),
                min((oldest for _, oldest in found if oldest is not None), default=None))

    def streams(self, tenant: str) -> list[StreamReport]:
        found = self._tenants.get(tenant)
        return found.streams() if found is not None else []

    # ---- evidence (collector.evidence.source.EvidenceSource) --------------------------------

    def segment_seals(self, tenant: str, numbers: list[int]) -> dict[int, SegmentSeal]:
        found = self._tenants.get(tenant)
        return found.segment_seals(numbers) if found is not None else {}

    def chain_extract(self, tenant: str, first: int | None) -> ChainExtract:
        found = self._tenants.get(tenant)
        return found.chain_extract(first) if found is not None else ChainExtract(1, GENESIS, [], None)

    def identity(self) -> dict[str, str]:
        return {"signer": self.signer.id, "public_key": self.public_key(), "algorithm": "Ed25519"}

    # ---- sealing and retention ------------------------------------------------------------

    async def seal(self, tenant: str) -> int:
        """Seal everything the tenant's WAL holds now; returns how many segments were made."""
        found = self._tenants.get(tenant)
        if found is None:
            return 0
        await found.cut()
        return await asyncio.get_running_loop().run_in_executor(self._sealer, found.seal_pending)

    async def maintain(self, tick: float = 1.0) -> None:
        """Seal by size and age, and apply retention, until cancelled. Tenants are sealed
        side by side, each by one task at a time."""
        loop = asyncio.get_running_loop()
        tick = min(tick, self.config.segment_max_age / 4)
        retention_due = time.monotonic()
        try:
            while True:
                for tenant in list(self._tenants.values()):
                    try:
                        if tenant.wal_age() >= self.config.segment_max_age:
                            await tenant.cut()
                    except Exception as e:  # a full disk, say: the WAL keeps the lines; try again
                        log.error("cutting the WAL failed; will retry",
                                  extra={"tenant": tenant.name, "error": str(e)})
                    running = self._sealing.get(tenant.name)
                    if tenant.has_unsealed() and (running is None or running.done()):
                        self._sealing[tenant.name] = asyncio.create_task(self._seal_quietly(tenant))
                if time.monotonic() >= retention_due:
                    retention_due = time.monotonic() + self.config.retention_check_interval
                    for name in list(self._tenants):
                        try:
                            await loop.run_in_executor(self._sealer, self.apply_retention, name)
                        except Exception as e:
                            log.error("retention failed; will retry", extra={"tenant": name, "error": str(e)})
                await asyncio.sleep(tick)
        finally:
            for task in self._sealing.values():
                task.cancel()
            await asyncio.gather(*self._sealing.values(), return_exceptions=True)
            self._sealing.clear()

    async def _seal_quietly(self, tenant: TenantStore) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._sealer, tenant.seal_pending)
        except Exception as e:  # a full disk, say: the WAL keeps the lines; try again
            log.error("sealing failed; will retry", extra={"tenant": tenant.name, "error": str(e)})

    def retention_days(self, tenant: str) -> int:
        value = self._existing(tenant).catalog.setting("retention_days")
        return int(value) if value is not None else self.config.retention_days

    def retention(self, tenant: str, days: int | None = None, now: int | None = None) -> dict[str, Any]:
        """The tenant's policy and what it (or ``days`` instead) would remove at ``now``."""
        t = self._existing(tenant)
        current = self.retention_days(tenant)
        holds = t.catalog.holds()
        effective = current if days is None else days
        return {"tenant": tenant, "retention_days": current, "proposed_days": days,
                "holds": [h.to_dict() for h in holds],
                "would_expire": summary(expiring(t.catalog.segments(), holds, effective, now or now_us()))}

    def set_retention(self, tenant: str, days: int) -> None:
        self._existing(tenant).catalog.set_setting("retention_days", str(days))

    def apply_retention(self, tenant: str, now: int | None = None) -> dict[str, Any]:
        """Remove the segments retention allows at ``now``; returns what went."""
        t = self._existing(tenant)
        days = self.retention_days(tenant)
        gone = expiring(t.catalog.segments(), t.catalog.holds(), days, now or now_us())
        t.expire([r.number for r in gone], f"retention of {days} days")
        if gone:
            self.events.segments_expired(tenant, len(gone))
        return summary(gone)

    def holds(self, tenant: str, active_only: bool = True) -> list[Hold]:
        return self._existing(tenant).catalog.holds(active_only)

    def add_hold(self, tenant: str, since: int | None, until: int | None, reason: str, by: str) -> Hold:
        hold = Hold(new_id("hold"), since, until, reason, now_us(), by, None, None)
        self._existing(tenant).catalog.add_hold(hold)
        return hold

    def release_hold(self, tenant: str, hold_id: str, by: str) -> bool:
        return self._existing(tenant).catalog.release_hold(hold_id, now_us(), by)

    # ---- integrity --------------------------------------------------------------------------

    def verify(self, tenant: str, exported: dict[str, Any] | None = None) -> VerifyReport:
        t = self._existing(tenant)
        with t.still():
            return verify_tenant(t.directory, tenant, self.keys, self.signer.public, self.signer.id, exported)

    def checkpoint(self, tenant: str) -> dict[str, Any] | None:
        """The newest signed checkpoint, with the public key that verifies it."""
        return self._existing(tenant).checkpoints.export(self.public_key())

    def public_key(self) -> str:
        """The public half of the signing key (Ed25519, raw, base64)."""
        return base64.b64encode(self.signer.public).decode()

    def sign(self, record: dict[str, Any]) -> dict[str, Any]:
        return signed(record, self.signer)

    # ---- backup and keys ------------------------------------------------------------------

    def backup(self, tenant: str, out: IO[bytes], by: str) -> dict[str, Any]:
        return write_backup(self._existing(tenant), out, by)

    def key_versions(self, tenant: str) -> list[KeyVersion]:
        self._existing(tenant)
        return self.keys.versions(tenant)

    def rotate_tenant_key(self, tenant: str) -> str:
        self._existing(tenant)
        return self.keys.rotate(tenant)

    # ---- erasure ----------------------------------------------------------------------------

    def erase_plan(self, tenant: str) -> dict[str, Any]:
        t = self._existing(tenant)
        rows = [r for r in t.catalog.segments() if r.state == "live"]
        files, size = disk_usage(t.directory)
        return {
            "tenant": tenant, **summary(rows), "files": files, "bytes_on_disk": size,
            "wal_files": len(list(t.wal_dir.glob("wal-*.log"))),
            "key_ids": [v.id for v in self.keys.versions(tenant)],
            "backups": t.catalog.backups(), "holds": [h.to_dict() for h in t.catalog.holds()],
        }

    async def erase(self, tenant: str) -> dict[str, Any]:
        t = self._existing(tenant)
        t.refusing = f"tenant {tenant} is being erased"
        self._erasing.add(tenant)
        try:
            await t.cut()  # no write in flight
            del self._tenants[tenant]
            return await asyncio.get_running_loop().run_in_executor(
                self._sealer, erase_tenant, t, self.keys, self.master)
        finally:
            self._erasing.discard(tenant)


class _NoLines:
    """The reader of a tenant that has stored nothing."""

    def parts(self, since: int, until: int, hosts: frozenset[str] = frozenset(),
              streams: frozenset[str] = frozenset()) -> list[Part]:
        return []

    def holds(self, agent: str, stream: str, seq: int) -> bool:
        return False


class UnknownTenant(LookupError):
    """An operation on a tenant this store does not hold."""


def lock_store(root: Path) -> int:
    """Take ``root/store.lock`` for this process; raises `StoreLocked` if another holds it."""
    fd = os.open(root / "store.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLocked(f"another process (a running chronolog-collector?) uses the store in {root}; "
                          "stop it first") from None
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    return fd
