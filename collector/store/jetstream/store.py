"""`JetStreamStore`: `collector.store.Store` and `AdminStore` over a NATS JetStream cluster,
so that several stateless collectors share one store (docs/scale-out.md).

In the cluster (names from ``prefix``, default ``chronolog``):

- stream ``chronolog-wal``, subjects ``chronolog.wal.<tenant>``, ``replicas`` copies: each
  acknowledged batch is one message, a one-record encrypted WAL file (wal.py's format, a data
  key per collector and tenant, wrapped by the tenant key), published with the batch's record
  keys as ``Nats-Msg-Id`` and acknowledged to the agent only after JetStream acknowledged it;
- object bucket ``chronolog-seg-<tenant>``: the tenant's sealed segments, the local store's
  format byte for byte;
- key-value bucket ``chronolog-catalog``: wrapped tenant keys (kv.py), the signing key, and one
  entry per segment (mirror.py), created only if absent: that create is what makes a segment
  the chain's next, so two collectors can never seal the same number or the same messages;
- key-value bucket ``chronolog-leases`` (entries expire after ``lease_seconds``): which
  collector seals a tenant now. A lease only avoids wasted work; the entry's create decides.
  A ``retain.<tenant>`` lease says who applies the tenant's retention, every
  ``retention_interval``;
- the tenant's retention, legal holds and signed expiry records, in the catalog bucket
  (policy.py): an expiry is recorded only if no hold or retention changed since it was
  decided, then its segments' objects are removed;
- the backup archives made of a tenant (``backup.<tenant>.<id>``: id, size, SHA-256, never a
  key), for its disposal report; the archives themselves are backup.py's, as the local store's.

The NATS client runs on its own loop (bridge.py); this object's blocking methods may be called
from any other thread.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import nats
import nats.errors
import nats.js.errors
import orjson
from nats.js import JetStreamContext
from nats.js.api import (
    KeyValueConfig,
    ObjectStoreConfig,
    Placement,
    StorageType,
    StreamConfig,
)
from nats.js.kv import KeyValue

from chronolog.timefmt import now_us
from chronolog.wire import Batch, slice_chunk
from collector.store import (
    AppendResult,
    DamagedPart,
    Part,
    StoreEvents,
    StoreReader,
    StoreUnavailable,
    StreamReport,
    proofs,
)
from collector.store.backup import write_archive
from collector.store.catalog import Hold
from collector.store.chain import chain_seal, signed
from collector.store.crypto import Unreadable, new_id
from collector.store.erase import Sample, decrypt_attempts
from collector.store.feed import Feed, Follower
from collector.store.jetstream.bridge import Bridge
from collector.store.jetstream.config import JetStreamConfig
from collector.store.jetstream.kv import KvTenantKeys, KvText, shared_signer
from collector.store.jetstream.mirror import Mirror, decode_entry, encode_entry, entry_key
from collector.store.jetstream.policy import KvPolicy, expiry_key
from collector.store.jetstream.reading import read_after
from collector.store.jetstream.retry import retrying, transient
from collector.store.keys import KeyVersion, MasterKeys
from collector.store.lines import LineBlock
from collector.store.names import TENANT_NAME
from collector.store.retention import expiring, summary
from collector.store.sealed import ChainExtract, SegmentSeal
from collector.store.sealing import InProcess, Prepared, SealJob, SealRunner, process_pool
from collector.store.segment import SegmentHead, seal_blocks, segment_name
from collector.store.seqset import HeldLines
from collector.store.tenant import SealSettings, TenantReader
from collector.store.verify import VerifyReport, verify_tenant
from collector.store.wal import WalEncoder, decode_record, encode_record, parse_header, read_wal

__all__ = ["JetStreamStore"]

log = logging.getLogger("collector.store")

_ENCODER_RECORDS = 100_000  # records under one data key before a fresh one
_MESSAGE_OVERHEAD = 64 << 10  # WAL header, frame, tag and NATS headers, generously


@dataclass
class _Message:
    seq: int
    data: bytes
    time: float  # monotonic, when this collector first saw it


@dataclass
class _Pending:
    """What the lease holder has read of a tenant's unsealed messages."""

    after: int  # the stream sequence the chain was sealed through when these were read
    messages: list[_Message] = field(default_factory=list)
    empty_through: int = 0  # messages up to this held only lines sealed already

    @property
    def last(self) -> int:
        return self.messages[-1].seq if self.messages else self.after

    def size(self) -> int:
        return sum(len(m.data) for m in self.messages)


@dataclass
class _Tenant:
    """This collector's state of one tenant: what it published (de-duplication before
    publishing, best effort: the seal is what keeps each line once) and its record encoder."""

    held: HeldLines
    encoder: WalEncoder | None = None
    records: int = 0


class _Source:
    """`collector.store.tenant.SegmentSource` over a mirror: segment files fetched on demand."""

    def __init__(self, store: JetStreamStore, mirror: Mirror, held: HeldLines) -> None:
        self.store, self.mirror, self._held = store, mirror, held
        self.name, self.catalog, self.segment_dir = mirror.name, mirror.catalog, mirror.segment_dir
        self.keys = store.keys
        self.events = store.events

    def holds(self, agent: str, stream: str, seq: int) -> bool:
        return self._held.holds(agent, stream, seq)


class _Reader(TenantReader):
    """A snapshot: the mirror's segments up to its head, and the unsealed messages after it,
    de-duplicated against the segments and each other, as one part."""

    def __init__(self, source: _Source, up_to: int, unsealed: LineBlock | None) -> None:
        super().__init__(source, up_to, [])
        self._source = source
        self._unsealed = unsealed

    def parts(self, since: int, until: int, hosts: frozenset[str] = frozenset(),
              streams: frozenset[str] = frozenset()) -> list[Part]:
        found = super().parts(since, until, hosts, streams)
        lines = self._unsealed
        if lines is not None and len(lines) and max(lines.ts) >= since and min(lines.ts) < until:
            found.append(Part("unsealed stream messages", min(lines.ts), max(lines.ts), False,
                              lambda _contains: lines))
            found.sort(key=lambda p: p.min_ts)
        return found

    def _segment(self, number: int) -> Any:
        try:
            self._source.store.fetch_segment(self._source.mirror, number)
        except nats.js.errors.NotFoundError:
            if self._source.store.expired(self._source.mirror, number):
                raise _Expired from None
            # Gone without an expiry: opening the missing file names it damaged.
        return super()._segment(number)

    def _block(self, number: int, block: int, contains: str | None) -> LineBlock | None:
        try:
            return super()._block(number, block, contains)
        except _Expired:
            return None  # retention removed it while this snapshot was read: its lines were due to go


class _Expired(Exception):
    """A segment of a reader's snapshot that retention removed since."""


class JetStreamStore:
    """`collector.store.Store` and `AdminStore` on a JetStream cluster."""

    def __init__(self, config: JetStreamConfig, master: MasterKeys, cache_dir: Path, seal: SealSettings,
                 sealers: int = 2, seal_in_subprocess: bool = True, events: StoreEvents | None = None,
                 fsync: bool = True, retention_days: int = 0, retention_interval: float = 3600.0) -> None:
        from collector.store.local import LogEvents

        self.config = config
        self.master = master
        self.cache_dir = Path(cache_dir)
        self.seal_settings = seal
        self.retention_default, self.retention_interval = retention_days, retention_interval
        self.events: StoreEvents = events or LogEvents()
        self.feed = Feed()
        self.id = f"collector-{os.uname().nodename}-{os.getpid()}-{secrets.token_hex(3)}"
        self._sealers, self._subprocess = sealers, seal_in_subprocess
        self.runner: SealRunner = InProcess()
        self._stop_runner: Any = lambda: None
        self.bridge = Bridge()
        p = config.prefix
        self.wal_stream, self.subject_prefix = f"{p}-wal", f"{p}.wal."
        self._tenants: dict[str, _Tenant] = {}
        self._mirrors: dict[str, Mirror] = {}
        self._pending: dict[str, _Pending] = {}
        self._leases: dict[str, int] = {}  # tenant -> revision of this collector's lease entry
        self._seal_now: dict[str, asyncio.Event] = {}
        self._trims: list[tuple[float, str, int]] = []  # (when, subject, purge below this sequence)
        self._erasing: set[str] = set()
        self._sealing: concurrent.futures.Future[None] | None = None
        self._retaining: concurrent.futures.Future[None] | None = None
        self.nc: Any = None
        self.js: JetStreamContext
        self.catalog_kv: KeyValue
        self.text: KvText  # JSON documents in the catalog bucket (keys, signer, credentials)
        self.leases_kv: KeyValue
        self.keys: KvTenantKeys
        self.policy: KvPolicy

    # ---- lifecycle -------------------------------------------------------------------------

    def open(self) -> JetStreamStore:
        """Connect, make the streams and buckets if absent, load the keys (blocking)."""
        self.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.bridge.run(self._connect())
        self.text = KvText(self.bridge, self.catalog_kv, self.config.write_deadline)
        self.keys = KvTenantKeys(self.text, self.master)
        self.policy = KvPolicy(self.text)
        self.signer = shared_signer(self.text, self.master)
        if self._subprocess:
            self.runner, self._stop_runner = process_pool(self._sealers)
        return self

    async def _connect(self) -> None:
        c = self.config
        try:
            # Reconnects without end once connected; the first connection gets write_deadline.
            self.nc = await asyncio.wait_for(nats.connect(
                servers=c.servers, name=self.id, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                connect_timeout=5, allow_reconnect=True), c.write_deadline)
        except (OSError, TimeoutError, nats.errors.Error) as e:
            raise StoreUnavailable(f"cannot reach the NATS cluster at {', '.join(c.servers)} "
                                   f"(store.jetstream.servers): {type(e).__name__}") from None
        self.js = self.nc.jetstream(timeout=c.ack_timeout)
        placement = Placement(tags=c.placement_tags) if c.placement_tags else None
        stream = self.stream_config(self.wal_stream, f"{self.subject_prefix}*")
        await self._retry(lambda: self.ensure_stream(stream), "creating the WAL stream")
        self.catalog_kv = await self._retry(lambda: self.js.create_key_value(KeyValueConfig(
            bucket=f"{c.prefix}-catalog", history=1, replicas=c.replicas, max_value_size=c.max_payload,
            storage=StorageType.FILE, placement=placement)), "creating the catalog bucket")
        self.leases_kv = await self._retry(lambda: self.js.create_key_value(KeyValueConfig(
            bucket=f"{c.prefix}-leases", history=1, replicas=c.replicas, ttl=c.lease_seconds,
            storage=StorageType.FILE, placement=placement)), "creating the lease bucket")

    def stream_config(self, name: str, subjects: str) -> StreamConfig:
        """A stream of this deployment: on file, with its replicas, placement, duplicate window
        and largest message."""
        c = self.config
        return StreamConfig(name=name, subjects=[subjects], storage=StorageType.FILE, num_replicas=c.replicas,
                            duplicate_window=c.duplicate_window, max_msg_size=c.max_payload,
                            placement=Placement(tags=c.placement_tags) if c.placement_tags else None)

    async def ensure_stream(self, config: StreamConfig) -> None:
        """Make the stream unless it exists (on the client's loop)."""
        try:
            await self.js.stream_info(config.name or "")
        except nats.js.errors.NotFoundError:
            await self.js.add_stream(config)

    async def _retry(self, make: Any, what: str) -> Any:
        """``make()`` until it succeeds or ``write_deadline`` passes (a leader election)."""
        return await retrying(make, what, self.config.write_deadline)

    def close(self) -> None:
        for running in (self._sealing, self._retaining):
            if running is not None:
                running.cancel()
        self._stop_runner()
        with contextlib.suppress(Exception):
            self.bridge.run(self._release_all(), timeout=10)
        with contextlib.suppress(Exception):
            self.bridge.run(self.nc.close(), timeout=10)
        self.bridge.stop()
        for mirror in self._mirrors.values():
            mirror.close()

    async def _release_all(self) -> None:
        for tenant, revision in list(self._leases.items()):
            with contextlib.suppress(Exception):
                await self.leases_kv.delete(f"seal.{tenant}", last=revision)
        self._leases.clear()

    # ---- names -----------------------------------------------------------------------------

    def _subject(self, tenant: str) -> str:
        return f"{self.subject_prefix}{tenant}"

    def _bucket(self, tenant: str) -> str:
        return f"{self.config.prefix}-seg-{tenant}"

    def tenants(self) -> list[str]:
        return self.keys.tenants()

    def create_tenant(self, name: str) -> bool:
        if not TENANT_NAME.fullmatch(name):
            raise ValueError(f"invalid tenant name {name!r}")
        if self.keys.store.get(f"keys.{name}")[0] is not None:
            return False
        self.keys.forget_destruction(name)
        self.keys.active(name)
        return True

    def _existing(self, tenant: str) -> None:
        from collector.store.local import UnknownTenant

        if self.keys.store.get(f"keys.{tenant}")[0] is None:
            raise UnknownTenant(f"no tenant {tenant!r} in this store")

    # ---- writing ---------------------------------------------------------------------------

    async def append(self, tenant: str, batch: Batch, received: int) -> AppendResult:
        if not TENANT_NAME.fullmatch(tenant):
            raise ValueError(f"invalid tenant name {tenant!r}")
        if tenant in self._erasing:
            raise StoreUnavailable(f"tenant {tenant} is being erased")
        state = self._tenants.get(tenant)
        if state is None:
            state = await asyncio.to_thread(self._open_tenant, tenant)
        new_chunks, added, duplicates = state.held.take_new(batch)
        if not new_chunks:
            return AppendResult(0, duplicates)
        accepted = 0
        try:
            # A message at most max_payload: a bigger batch goes as several, each with its own id.
            for piece, record in _pieces(received, dataclasses.replace(batch, chunks=new_chunks),
                                         self.config.max_payload - _MESSAGE_OVERHEAD):
                data = await asyncio.to_thread(self._encode, tenant, state, record)
                ack = await self.bridge.call(self._publish(self._subject(tenant), data,
                                                           _record_id(tenant, piece)))
                lines = sum(len(c) for c in piece.chunks)
                if ack.duplicate:  # another collector stored these very lines first (a resend)
                    duplicates += lines
                    continue
                accepted += lines
                self.feed.publish(tenant, received, piece)
        except BaseException:
            state.held.forget(added)  # the agent sends it again; pieces already stored are dropped
            raise
        return AppendResult(accepted, duplicates)

    def _open_tenant(self, tenant: str) -> _Tenant:
        if self.keys.destroyed(tenant):
            raise StoreUnavailable(f"tenant {tenant} was erased; an administrator must create it again")
        return self._tenants.setdefault(tenant, _Tenant(self.mirror(tenant).held()))

    def _encode(self, tenant: str, state: _Tenant, record: bytes) -> bytes:
        if state.encoder is None or state.records >= _ENCODER_RECORDS:
            state.encoder, state.records = WalEncoder(tenant, self.keys), 0
        state.records += 1
        return state.encoder.encode(record)

    async def _publish(self, subject: str, data: bytes, msg_id: str) -> Any:
        deadline = time.monotonic() + self.config.write_deadline
        while True:
            try:
                return await self.js.publish(subject, data, timeout=self.config.ack_timeout,
                                             headers={"Nats-Msg-Id": msg_id})
            except Exception as e:
                if not transient(e):
                    raise
                # Sent again with the same id: JetStream stores it once.
                if time.monotonic() > deadline:
                    raise StoreUnavailable(f"JetStream did not acknowledge the batch within "
                                           f"{self.config.write_deadline:.0f} s "
                                           f"({type(e).__name__})") from None
                await asyncio.sleep(0.2)

    # ---- the tenant's copy of the catalog -------------------------------------------------------

    def mirror(self, tenant: str) -> Mirror:
        """The tenant's local copy, brought up to the cluster's catalog (blocking)."""
        found = self._mirrors.get(tenant)
        if found is None:
            found = self._mirrors.setdefault(tenant, Mirror(self.cache_dir / "tenants" / tenant, tenant))
        self.bridge.run(self._sync(found))
        return found

    async def _catalog_value(self, key: str) -> bytes | None:
        """A catalog entry's value; None when it is absent (or purged)."""
        try:
            entry = await self._retry(lambda: self.catalog_kv.get(key), "reading the catalog")
        except nats.js.errors.KeyNotFoundError:
            return None
        return entry.value or None

    async def _sync(self, mirror: Mirror) -> None:
        while (value := await self._catalog_value(entry_key(mirror.name, mirror.head()[0] + 1))) is not None:
            await asyncio.to_thread(mirror.add, decode_entry(value))
        await self._sync_expiries(mirror)

    async def _sync_expiries(self, mirror: Mirror) -> None:
        """Apply the expiry records the copy has not applied yet, in order."""
        while True:
            k = mirror.expiries() + 1
            value = await self._catalog_value(expiry_key(mirror.name, k))
            if value is None:
                return
            try:
                record = orjson.loads(value)
            except orjson.JSONDecodeError:
                record = None
            if not isinstance(record, dict):  # kept as it is: verify names the unsigned record
                record = {"kind": "expire", "unreadable": value.decode(errors="replace")}
            if not await asyncio.to_thread(mirror.expire, k, record):
                return  # names a segment this copy reads on its next sync

    def expired(self, mirror: Mirror, number: int) -> bool:
        """Whether segment ``number`` has expired, as the cluster says now (blocking)."""
        self.bridge.run(self._sync(mirror))
        rows = mirror.catalog.segments(number)
        return bool(rows) and rows[0].number == number and rows[0].state == "expired"

    def fetch_segment(self, mirror: Mirror, number: int) -> None:
        """Make sure segment ``number``'s file is in the mirror (blocking)."""
        path = mirror.segment_dir / segment_name(number)
        if path.exists():
            return
        name = mirror.object_name(number)
        if name is None:
            return  # not in the catalog: the reader reports it missing
        data = self.bridge.run(self._get_object(mirror.name, name))
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    async def _get_object(self, tenant: str, name: str) -> bytes:
        async def get() -> bytes:
            result = await (await self.js.object_store(self._bucket(tenant))).get(name)
            return bytes(result.data or b"")
        data: bytes = await self._retry(get, "reading a segment")
        return data

    # ---- reading ---------------------------------------------------------------------------

    def scan(self, tenant: str, since: int, until: int, hosts: frozenset[str] = frozenset(),
             contains: str | None = None) -> Iterator[LineBlock]:
        with self.reader(tenant) as reader:
            for part in reader.parts(since, until, hosts):
                with contextlib.suppress(Exception):
                    found = part.load(contains)
                    if found is not None:
                        yield found

    @contextlib.contextmanager
    def reader(self, tenant: str) -> Iterator[StoreReader]:
        if not TENANT_NAME.fullmatch(tenant) or tenant in self._erasing:
            from collector.store.local import _NoLines
            yield _NoLines()
            return
        mirror = self.mirror(tenant)
        up_to, _, through = mirror.head()
        held = mirror.held()
        unsealed = self._unsealed_lines(tenant, through, held)
        reader = _Reader(_Source(self, mirror, held), up_to, unsealed)
        try:
            yield reader
        finally:
            reader.close()

    def _unsealed_lines(self, tenant: str, through: int, held: HeldLines) -> LineBlock | None:
        """The lines of the messages after ``through`` not in ``held`` (which gains them)."""
        messages = self.bridge.run(self._messages(tenant, through, None))
        batches: list[tuple[int, Batch]] = []
        for m in messages:
            try:
                contents = read_wal(m.data, self.keys)
            except Unreadable as e:
                self.events.damage_found(tenant, f"stream message {m.seq}", str(e))
                continue
            for record in contents.records:
                received, batch = decode_record(record)
                chunks, _, _ = held.take_new(batch)
                if chunks:
                    batches.append((received, dataclasses.replace(batch, chunks=chunks)))
        return LineBlock.from_batches(batches) if batches else None

    async def _messages(self, tenant: str, after: int, most_bytes: int | None,
                        into: list[_Message] | None = None) -> list[_Message]:
        """The tenant's stream messages after sequence ``after`` up to the newest there is now,
        in order (up to about ``most_bytes``), appended to ``into`` as they come (kept if this
        is cancelled)."""
        out: list[_Message] = [] if into is None else into
        newest = await self._last_seq(tenant)  # the leader's answer
        last, size = after, 0

        def keep(seq: int, data: bytes) -> None:
            nonlocal last, size
            if seq > last:  # a retry starts after the last one kept
                out.append(_Message(seq, data, time.monotonic()))
                last, size = seq, size + len(data)

        def enough() -> bool:
            return most_bytes is not None and size >= most_bytes

        subject = self._subject(tenant)
        if newest > after:  # nothing new (the sealing loop asks every tick): no consumer
            try:
                await read_after(self.js, self.wal_stream, subject, last, self.config.ack_timeout, keep,
                                 enough)
            except (TimeoutError, nats.errors.Error) as e:  # no consumer placed, say
                log.info("reading messages one by one", extra={"tenant": tenant, "error": repr(e)})
        # The consumer is only faster: it reads one replica, which may be behind the leader (one
        # just restarted), or fail. The rest one by one from the leader: an acknowledged line
        # is always read.
        while last < newest and not enough():
            try:
                msg = await self._retry(functools.partial(self.js.get_msg, self.wal_stream, seq=last + 1,
                                                          subject=subject, next=True),
                                        "reading the WAL stream")
            except nats.js.errors.NotFoundError:
                break
            keep(int(msg.seq), bytes(msg.data or b""))
        return out

    def follow(self, tenant: str) -> contextlib.AbstractContextManager[Follower]:
        return self.feed.follow(tenant)

    def streams(self, tenant: str) -> list[StreamReport]:
        if not TENANT_NAME.fullmatch(tenant):
            return []
        mirror = self.mirror(tenant)
        held = mirror.held()
        self._unsealed_lines(tenant, mirror.head()[2], held)
        return held.reports()

    # ---- sealing ---------------------------------------------------------------------------

    async def maintain(self, tick: float = 1.0) -> None:
        """Seal, on the client's loop, until cancelled; a round under way is finished first
        (what its sealers prepared is sealed, not thrown away), then the leases go back."""
        stop = threading.Event()
        self._sealing = self.bridge.submit(self._seal_loop(tick, stop))
        self._retaining = self.bridge.submit(self._retention_loop())
        try:
            await asyncio.shield(asyncio.wrap_future(self._sealing))
        except asyncio.CancelledError:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.wrap_future(self._sealing), self.config.write_deadline)
            raise
        finally:
            self._sealing.cancel()
            self._retaining.cancel()
            with contextlib.suppress(Exception):
                await self.bridge.call(self._release_all())

    async def seal(self, tenant: str) -> int:
        """Return once every message the tenant's stream holds now is sealed, by this collector
        (it takes the lease) or by the one holding the lease; how many segments this one made."""
        return await self.bridge.call(self._seal_all(tenant))

    async def _seal_all(self, tenant: str) -> int:
        target = await self._last_seq(tenant)
        made = 0
        deadline = time.monotonic() + self.config.lease_seconds * 2 + self.config.write_deadline
        while time.monotonic() < deadline:
            mirror = await asyncio.to_thread(self.mirror, tenant)
            if mirror.head()[2] >= target:
                return made
            if not await self._lease(tenant):
                await asyncio.sleep(0.2)  # the holder seals them
                continue
            n = await self._seal_tenant(tenant, force=True)
            made += n
            if n == 0:  # what is left holds only lines sealed already
                return made
        raise StoreUnavailable(f"tenant {tenant}'s messages were not all sealed in time; the collector "
                               "holding its sealing lease may be stuck")

    def sealing(self, tenant: str) -> bool:
        """Whether this collector held the tenant's sealing lease at its last renewal."""
        return tenant in self._leases

    async def _last_seq(self, tenant: str) -> int:
        """The stream sequence of the tenant's newest message (0: none)."""
        try:
            msg = await self._retry(lambda: self.js.get_msg(self.wal_stream, subject=self._subject(tenant)),
                                    "reading the WAL stream")  # the last by subject
        except nats.js.errors.NotFoundError:
            return 0
        return int(msg.seq)

    async def _seal_loop(self, tick: float, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.forget_erased)
                for tenant in await self._tenants_with_messages():
                    if tenant not in self._erasing and await self._lease(tenant):
                        await self._seal_tenant(tenant)
                await self._trim()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the cluster unreachable, say: the stream keeps the lines
                log.error("sealing failed; will retry", extra={"error": f"{type(e).__name__}: {e}"})
            await asyncio.to_thread(stop.wait, tick)

    def forget_erased(self) -> None:
        """Drop what this collector holds of tenants another collector erased: unwrapped keys,
        its record encoder (its data key is wrapped by a destroyed key), its catalog copy. Until
        then a batch for the tenant may be acknowledged here, unreadable to anyone."""
        for key in self.keys.store.keys("destroyed."):
            tenant = key.removeprefix("destroyed.")
            if tenant in self._tenants or tenant in self._mirrors:
                self._drop(tenant)

    def _drop(self, tenant: str) -> None:
        self.keys.forget(tenant)
        self._tenants.pop(tenant, None)
        self._pending.pop(tenant, None)
        gone = self._mirrors.pop(tenant, None)
        if gone is not None:
            gone.remove()
        shutil.rmtree(self.cache_dir / "tenants" / tenant, ignore_errors=True)

    async def _tenants_with_messages(self) -> list[str]:
        info = await self.js.stream_info(self.wal_stream, subjects_filter=f"{self.subject_prefix}*")
        subjects = info.state.subjects or {}
        return sorted(s.removeprefix(self.subject_prefix) for s in subjects)

    async def _lease(self, tenant: str) -> bool:
        """Take or renew this collector's lease on sealing ``tenant`` (compare-and-set)."""
        key = f"seal.{tenant}"
        try:
            revision = self._leases.get(tenant)
            if revision is None:
                self._leases[tenant] = await self.leases_kv.create(key, self.id.encode())
            else:
                self._leases[tenant] = await self.leases_kv.update(key, self.id.encode(), last=revision)
            return True
        except nats.js.errors.KeyWrongLastSequenceError:
            self._leases.pop(tenant, None)
            self._pending.pop(tenant, None)
            return False

    async def _seal_tenant(self, tenant: str, force: bool = False) -> int:
        """One round: up to one segment per sealer, prepared at once, then each sealed as the
        chain's next in stream order (as the local store seals its WAL files)."""
        mirror = await asyncio.to_thread(self.mirror, tenant)
        through = mirror.head()[2]
        pending = self._pending.get(tenant)
        if pending is None or pending.after != through:
            pending = self._pending[tenant] = _Pending(through)
        budget, width = self.seal_settings.segment_max_bytes, self.runner.width
        if pending.size() < budget * width:
            await self._messages(tenant, pending.last, budget * width - pending.size(), into=pending.messages)
        if not pending.messages or pending.last <= pending.empty_through:
            return 0
        due = force or pending.size() >= budget or (
            time.monotonic() - pending.messages[0].time >= self.seal_settings.segment_max_age)
        if not due:
            return 0
        groups = _groups(pending.messages, budget, width)
        held = mirror.held_runs()
        jobs = [await self._prepare(tenant, group, held) for group in groups]
        made, sealed_through = 0, None
        try:
            for k, (group, job) in enumerate(zip(groups, jobs, strict=True)):
                prepared = await job
                if k and _overlaps(prepared.runs, mirror.held_runs()):
                    # A line resent into two groups of this round: prepared again without what
                    # the groups before it sealed (each line is sealed once).
                    prepared = await (await self._prepare(tenant, group, mirror.held_runs()))
                for where, what in prepared.damaged:
                    self.events.damage_found(tenant, where, what)
                if prepared.blocks is None:  # only lines sealed already
                    continue
                number, prev, _ = mirror.head()
                if not await self._commit(tenant, mirror, number + 1, prev, group[-1].seq, prepared):
                    self._pending.pop(tenant, None)  # another collector's chain: read again
                    return made
                made, sealed_through = made + 1, group[-1].seq
        finally:
            for job in jobs:
                job.cancel()  # after a failure: what is left is prepared again next round
        if sealed_through is not None:
            pending.after = sealed_through
            pending.messages = [m for m in pending.messages if m.seq > sealed_through]
        if groups[-1][-1].seq > (sealed_through or 0):
            pending.empty_through = groups[-1][-1].seq
        return made

    async def _prepare(self, tenant: str, messages: list[_Message],
                       held: dict[tuple[str, str], list[tuple[int, int]]]) -> asyncio.Future[Prepared]:
        """Hand ``messages`` to a sealer (leaving out the lines in ``held``); the prepared
        segment, to be awaited."""
        needed = set()
        for m in messages:
            with contextlib.suppress(Unreadable):
                needed.add(str(parse_header(m.data)[0]["tenant_key"]))
        keys = await asyncio.to_thread(lambda: {k: self.keys.key(tenant, k) for k in needed})
        job = SealJob(tenant, [], keys, self.seal_settings.zstd_level, self.seal_settings.block_bytes,
                      [(f"stream message {m.seq}", m.data) for m in messages], held)
        return asyncio.wrap_future(self.runner.prepare(job))

    async def _commit(self, tenant: str, mirror: Mirror, number: int, prev: bytes, through: int,
                      prepared: Prepared) -> int:
        assert prepared.blocks is not None
        key_id, key = await asyncio.to_thread(self.keys.active, tenant)
        built = seal_blocks(prepared.blocks, tenant=tenant, number=number, prev=prev, sealed=now_us(),
                            # Not the record encoders' ids: one encoder's messages span
                            # segments, and a segment's "wal" are WAL files it replaced whole.
                            wal_files=[], tenant_key_id=key_id, tenant_key=key,
                            runs=prepared.runs)
        chained, checkpoint = chain_seal(tenant, number, prev, built.digest, built.header, self.signer)
        obj = f"{segment_name(number)}.{secrets.token_hex(6)}"  # unique: a lost race leaves no doubt
        tags = self.config.placement_tags
        config = ObjectStoreConfig(bucket=self._bucket(tenant), replicas=self.config.replicas,
                                   storage=StorageType.FILE, placement=Placement(tags=tags) if tags else None)
        bucket = await self._retry(lambda: self.js.create_object_store(self._bucket(tenant), config),
                                   "creating the segment bucket")
        await self._retry(lambda: bucket.put(obj, built.data), "writing a segment")
        entry = {"object": obj, "header": built.header, "index": built.index, "digest": built.digest.hex(),
                 "link": chained.hex(), "tenant_key": key_id, "stored_bytes": len(built.data),
                 "runs": [list(r) for r in prepared.runs], "through": through, "checkpoint": checkpoint,
                 "sealed_by": self.id}
        try:
            await self._retry(lambda: self.catalog_kv.create(entry_key(tenant, number), encode_entry(entry)),
                              "recording a segment")
        except nats.js.errors.KeyWrongLastSequenceError:
            log.warning("another collector sealed this segment first", extra={"tenant": tenant,
                                                                              "segment": number})
            with contextlib.suppress(Exception):
                await bucket.delete(obj)
            return 0
        await asyncio.to_thread(mirror.add, entry, built.data)
        self._trims.append((time.monotonic() + 60, self._subject(tenant), through + 1))
        self.events.segment_sealed(tenant, prepared.lines, built.header["raw"], len(built.data))
        return 1

    async def _trim(self) -> None:
        """Purge sealed messages a minute after their seal (a reader's snapshot taken before
        the seal reads them until then)."""
        now = time.monotonic()
        due = [t for t in self._trims if t[0] <= now]
        self._trims = [t for t in self._trims if t[0] > now]
        for _, subject, below in due:
            with contextlib.suppress(Exception):
                await self.js.purge_stream(self.wal_stream, subject=subject, seq=below)

    # ---- integrity ------------------------------------------------------------------------

    def verify(self, tenant: str, exported: dict[str, Any] | None = None) -> VerifyReport:
        """Check the cluster's copy afresh: every entry and object fetched again into a
        scratch copy, checked as a local store is; every unsealed message's tag."""
        self._existing(tenant)
        with self._fresh_copy(tenant) as (fresh, _):
            for row in fresh.catalog.segments():
                if row.state == "live":  # an expired one's object is gone, signed off
                    with contextlib.suppress(Exception):
                        self.fetch_segment(fresh, row.number)
            report = verify_tenant(fresh.directory, tenant, self.keys, self.signer.public, self.signer.id,
                                   exported)
        for m in self.bridge.run(self._messages(tenant, self.mirror(tenant).head()[2], None)):
            try:
                contents = read_wal(m.data, self.keys)
            except Unreadable as e:
                report.add("unreadable", f"stream message {m.seq}", str(e))
                continue
            report.wal_records += len(contents.records)
            for what in contents.damaged:
                report.add("rewritten", f"stream message {m.seq}", what)
        return report

    @contextlib.contextmanager
    def _fresh_copy(self, tenant: str) -> Iterator[tuple[Mirror, Path]]:
        """A scratch copy of the tenant's catalog, read afresh from the cluster (no segment
        fetched yet), and its scratch directory; removed when the context ends."""
        with tempfile.TemporaryDirectory(dir=self.cache_dir) as scratch:
            fresh = Mirror(Path(scratch) / tenant, tenant)
            try:
                self.bridge.run(self._sync(fresh))
                yield fresh, Path(scratch)
            finally:
                fresh.close()

    def checkpoint(self, tenant: str) -> dict[str, Any] | None:
        return self.mirror(tenant).checkpoints.export(self.public_key())

    # ---- evidence (collector.evidence.source.EvidenceSource), from the tenant's mirror -------

    def segment_seals(self, tenant: str, numbers: list[int]) -> dict[int, SegmentSeal]:
        mirror = self.mirror(tenant)

        def segment_file(number: int, file: str) -> Path:
            self.fetch_segment(mirror, number)
            return mirror.segment_dir / file

        return proofs.segment_seals(mirror.catalog, mirror.checkpoints, segment_file, numbers)

    def chain_extract(self, tenant: str, first: int | None) -> ChainExtract:
        mirror = self.mirror(tenant)
        return proofs.chain_extract(mirror.catalog, mirror.checkpoints, first)

    def identity(self) -> dict[str, str]:
        return {"signer": self.signer.id, "public_key": self.public_key(), "algorithm": "Ed25519"}

    def public_key(self) -> str:
        return base64.b64encode(self.signer.public).decode()

    def sign(self, record: dict[str, Any]) -> dict[str, Any]:
        return signed(record, self.signer)

    # ---- backup archives (backup.py's format, as the local store's) ------------------------

    def backup(self, tenant: str, out: IO[bytes], by: str) -> dict[str, Any]:
        """Write the archive of the tenant's sealed segments as the cluster holds them (a fresh
        copy of its catalog entries and objects, never this collector's cache), without keys;
        record it in the catalog bucket for the disposal report. Returns the manifest."""
        self._existing(tenant)
        with self._fresh_copy(tenant) as (copy, scratch):
            self._fetch_live(copy)
            path = copy.checkpoints.path
            written = write_archive(tenant, copy.catalog, path.read_bytes() if path.exists() else b"",
                                    copy.segment_dir, scratch, out, by)
        self.text.put(f"backup.{tenant}.{written.manifest['id']}", written.record())
        return written.manifest

    def _fetch_live(self, copy: Mirror) -> None:
        """Fetch every live segment's object into ``copy``. Retention may remove one meanwhile:
        the copy then takes the expiry record (the archive leaves the segment out, signed off,
        as an archive made after it would); an object gone without one is damage."""
        for _ in range(20):
            gone = None
            for row in copy.catalog.segments():
                if row.state == "live":
                    try:
                        self.fetch_segment(copy, row.number)
                    except nats.js.errors.NotFoundError:
                        gone = row.number
                        break
            if gone is None:
                return
            if not self.expired(copy, gone):
                raise DamagedPart(f"segment {gone}", "its object is gone from the cluster without a "
                                  "signed expiry record; `chronolog admin verify` reports it")
        raise StoreUnavailable(f"tenant {copy.name}'s segments kept expiring while the backup was made")

    def backups(self, tenant: str) -> list[dict[str, Any]]:
        """The archives made of the tenant (``Catalog.backups``'s fields), oldest first."""
        found = [self.text.get(key)[0] for key in self.text.keys(f"backup.{tenant}.")]
        return sorted((d for d in found if d is not None), key=lambda d: d["created"])

    # ---- retention and legal holds (policy.py), as the local store's ---------------------------

    def retention_days(self, tenant: str) -> int:
        days = self.policy.retention_days(tenant)
        return days if days is not None else self.retention_default

    def retention(self, tenant: str, days: int | None = None, now: int | None = None) -> dict[str, Any]:
        """The tenant's policy and what it (or ``days`` instead) would remove at ``now``."""
        self._existing(tenant)
        current = self.retention_days(tenant)
        holds = self.policy.holds(tenant)
        effective = current if days is None else days
        rows = self.mirror(tenant).catalog.segments()
        return {"tenant": tenant, "retention_days": current, "proposed_days": days,
                "holds": [h.to_dict() for h in holds],
                "would_expire": summary(expiring(rows, holds, effective, now or now_us()))}

    def set_retention(self, tenant: str, days: int) -> None:
        self._existing(tenant)
        self.policy.set_retention_days(tenant, days)

    def apply_retention(self, tenant: str, now: int | None = None) -> dict[str, Any]:
        """Remove the segments retention allows at ``now``; returns what went. Decided against
        one revision of the tenant's policy fence and recorded only if it still stands, so two
        collectors never record one expiry twice and a hold placed meanwhile is honoured."""
        self._existing(tenant)
        mirror, gone = self.mirror(tenant), []
        for _ in range(20):
            doc, revision = self.policy.policy(tenant)
            days = int(doc.get("retention_days", self.retention_default))
            holds = self.policy.holds(tenant)
            mirror = self.mirror(tenant)
            gone = expiring(mirror.catalog.segments(), holds, days, now or now_us())
            if not gone:
                break
            if not self.policy.decided(tenant, doc, revision):
                continue  # a hold, a retention or another collector's expiry came first
            record = signed({"kind": "expire", "tenant": tenant, "numbers": [r.number for r in gone],
                             "at": now_us(), "reason": f"retention of {days} days"}, self.signer)
            if not self.policy.record_expiry(tenant, mirror.expiries() + 1, record):
                continue  # another collector's expiry took that place in the order
            self.mirror(tenant)  # applies it
            self.events.segments_expired(tenant, len(gone))
            break
        else:
            raise StoreUnavailable(f"tenant {tenant}'s policy kept changing while retention was applied")
        self._remove_expired_objects(mirror)
        return summary(gone)

    def _remove_expired_objects(self, mirror: Mirror) -> None:
        """Delete the objects of expired segments this collector has not seen removed (those
        a collector that died after recording an expiry left too)."""
        names = [(row.number, mirror.object_name(row.number)) for row in mirror.catalog.segments()
                 if row.state == "expired" and mirror.catalog.setting(f"removed.{row.number}") is None]
        if names:
            self.bridge.run(self._remove_objects(mirror.name, [name for _, name in names if name]))
        for number, _ in names:
            mirror.catalog.set_setting(f"removed.{number}", "1")

    async def _remove_objects(self, tenant: str, names: list[str]) -> None:
        try:
            bucket = await self._retry(lambda: self.js.object_store(self._bucket(tenant)), "opening a bucket")
        except nats.js.errors.NotFoundError:
            return
        for name in names:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await self._retry(lambda name=name: bucket.delete(name), "removing an expired segment")

    async def _retention_loop(self) -> None:
        """Every ``retention_interval`` from the start: retention of each tenant whose
        retention lease (``retain.<tenant>`` in the lease bucket, created if absent, expiring
        after ``lease_seconds``) this collector takes, so one collector at a time applies it.
        Like the sealing lease, it only saves work: the policy fence decides."""
        while True:
            try:
                tenants = await asyncio.to_thread(self.tenants)
            except Exception as e:  # the cluster unreachable, say: the next round tries again
                log.error("retention failed; will retry", extra={"error": f"{type(e).__name__}: {e}"})
                tenants = []
            for tenant in tenants:
                try:
                    if tenant not in self._erasing:
                        await self._retain_under_lease(tenant)
                except Exception as e:
                    log.error("retention failed; will retry", extra={"tenant": tenant,
                                                                     "error": f"{type(e).__name__}: {e}"})
            await asyncio.sleep(self.retention_interval)

    async def _retain_under_lease(self, tenant: str) -> None:
        key = f"retain.{tenant}"
        try:
            revision = await self.leases_kv.create(key, self.id.encode())
        except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.KeyNotFoundError):
            return  # another collector applies it now
        try:
            await asyncio.to_thread(self.apply_retention, tenant)
        finally:
            with contextlib.suppress(Exception):
                await self.leases_kv.delete(key, last=revision)

    def holds(self, tenant: str, active_only: bool = True) -> list[Hold]:
        self._existing(tenant)
        return self.policy.holds(tenant, active_only)

    def add_hold(self, tenant: str, since: int | None, until: int | None, reason: str, by: str) -> Hold:
        self._existing(tenant)
        hold = Hold(new_id("hold"), since, until, reason, now_us(), by, None, None)
        self.policy.add_hold(tenant, hold)
        return hold

    def release_hold(self, tenant: str, hold_id: str, by: str) -> bool:
        self._existing(tenant)
        return self.policy.release_hold(tenant, hold_id, now_us(), by)

    # ---- keys --------------------------------------------------------------------------------

    def key_versions(self, tenant: str) -> list[KeyVersion]:
        self._existing(tenant)
        return self.keys.versions(tenant)

    def rotate_tenant_key(self, tenant: str) -> str:
        self._existing(tenant)
        key_id = self.keys.rotate(tenant)
        state = self._tenants.get(tenant)
        if state is not None:
            state.encoder = None  # new records under the new version
        return key_id

    # ---- erasure -------------------------------------------------------------------------------

    def erase_plan(self, tenant: str) -> dict[str, Any]:
        self._existing(tenant)
        mirror = self.mirror(tenant)
        rows = [r for r in mirror.catalog.segments() if r.state == "live"]
        messages = self.bridge.run(self._messages(tenant, mirror.head()[2], None))
        return {
            "tenant": tenant, **summary(rows), "files": len(rows) + len(messages),
            "bytes_on_disk": sum(r.stored_bytes for r in rows) + sum(len(m.data) for m in messages),
            "wal_files": len(messages), "key_ids": [v.id for v in self.keys.versions(tenant)],
            "backups": self.backups(tenant), "holds": [h.to_dict() for h in self.policy.holds(tenant)],
            "location": self.location(),
        }

    def location(self) -> str | None:
        return self.config.location.label() if self.config.location is not None else None

    async def erase(self, tenant: str) -> dict[str, Any]:
        """Destroy the tenant's keys, then its stream messages, segments and catalog entries."""
        self._existing(tenant)
        self._erasing.add(tenant)
        try:
            return await asyncio.to_thread(self._erase, tenant)
        finally:
            self._erasing.discard(tenant)

    def _erase(self, tenant: str) -> dict[str, Any]:
        started = now_us()
        mirror = self.mirror(tenant)
        rows = [r for r in mirror.catalog.segments() if r.state == "live"]
        messages = self.bridge.run(self._messages(tenant, 0, None))
        sample = self._sample(mirror, rows, messages)
        size = sum(r.stored_bytes for r in rows) + sum(len(m.data) for m in messages)
        destroyed = self.keys.destroy(tenant)
        keys_done = now_us()
        self.bridge.run(self._delete_tenant(tenant, mirror.catalog.last()[0]))
        self.policy.purge(tenant)
        for key in self.text.keys(f"backup.{tenant}."):  # the list of archives made, as the local catalog's
            self.text.purge(key)
        self._drop(tenant)
        verification = (decrypt_attempts(sample, tenant, self.keys, self.master) if sample is not None
                        else {"sample": None, "attempts": ["the tenant held no data"], "decrypt_failed": True,
                              "opened_by": []})
        return {
            "tenant": tenant, "started": started, "keys_destroyed_at": keys_done, "finished": now_us(),
            "destroyed_key_ids": destroyed, "master_key": self.master.current(), "segments": len(rows),
            "files_deleted": len(rows) + len(messages), "bytes_deleted": size,
            "lines": sum(r.lines for r in rows), "min_ts": min((r.min_ts for r in rows), default=None),
            "max_ts": max((r.max_ts for r in rows), default=None), "verification": verification,
            "store": {"model": "chronolog-collector JetStream store",
                      "serial_number": f"NATS JetStream {', '.join(self.config.servers)}: stream "
                                       f"{self.wal_stream} subject {self._subject(tenant)}, bucket "
                                       f"{self._bucket(tenant)}, catalog entries seg.{tenant}.*",
                      "location": self.location(),
                      "key_copies": (
                          "Tenant key versions existed only wrapped by the master key "
                          f"{self.master.current()}, in the cluster's catalog bucket "
                          f"({self.config.prefix}-catalog), from which they were purged. Archives "
                          "made with `chronolog admin backup` hold no key: they are unreadable "
                          "from now on and need no action. A backup of the catalog bucket made "
                          "with JetStream's own tools before this erase still holds the keys: "
                          "destroy such backups (a master key rotation does not reach them on "
                          "this backend).")},
        }

    def _sample(self, mirror: Mirror, rows: list[Any], messages: list[_Message]) -> Sample | None:
        for row in rows:
            try:
                self.fetch_segment(mirror, row.number)
                with open(mirror.segment_dir / segment_name(row.number), "rb") as f:
                    head = SegmentHead.read(f)
                    return Sample(f"segment {row.number} ({mirror.object_name(row.number)}) block 0",
                                  head.keyslot["tenant_key"], bytes.fromhex(head.keyslot["dek"]),
                                  head.read_sealed(f, 0))
            except (OSError, Unreadable, StoreUnavailable):
                continue
        for m in messages:
            with contextlib.suppress(Unreadable):
                header, start = parse_header(m.data)
                return Sample(f"stream message {m.seq}", header["tenant_key"], bytes.fromhex(header["dek"]),
                              m.data[start:])
        return None

    async def _delete_tenant(self, tenant: str, segments: int) -> None:
        await self._retry(lambda: self.js.purge_stream(self.wal_stream, subject=self._subject(tenant)),
                          "purging the tenant's messages")
        with contextlib.suppress(nats.js.errors.NotFoundError, nats.js.errors.BucketNotFoundError):
            await self.js.delete_object_store(self._bucket(tenant))
        for number in range(1, segments + 1):
            with contextlib.suppress(nats.js.errors.KeyNotFoundError):
                await self.catalog_kv.purge(entry_key(tenant, number))
        with contextlib.suppress(Exception):
            await self.leases_kv.purge(f"seal.{tenant}")
        self._leases.pop(tenant, None)


def _groups(messages: list[_Message], budget: int, width: int) -> list[list[_Message]]:
    """Up to ``width`` runs of consecutive messages, one segment each: of ``budget`` bytes, or,
    for a backlog smaller than ``width`` segments, an even share each (every sealer takes part,
    at the cost of smaller segments, as the local store's WAL files of segment_max_bytes /
    sealers). The last run may take up to ``budget``: no leftover message waits a round."""
    share = min(budget, max(budget // width, -(-sum(len(m.data) for m in messages) // width)))
    groups: list[list[_Message]] = [[]]
    size = 0
    for m in messages:
        most = share if len(groups) < width else budget
        if groups[-1] and size + len(m.data) > most:
            if len(groups) == width:
                break
            groups.append([])
            size = 0
        groups[-1].append(m)
        size += len(m.data)
    return groups


def _overlaps(runs: list[tuple[str, str, int, int]],
              held: dict[tuple[str, str], list[tuple[int, int]]]) -> bool:
    """Whether any of ``runs`` holds a line of the runs in ``held``."""
    return any(s < end and start < e
               for agent, stream, start, end in runs for s, e in held.get((agent, stream), ()))


def _pieces(received: int, batch: Batch, most: int) -> list[tuple[Batch, bytes]]:
    """The batch as WAL records of at most ``most`` bytes, with the batch each holds: halves
    of its chunks, or of its one chunk's lines, until they fit (a single line as it is)."""
    record = encode_record(received, batch)
    if len(record) <= most or (len(batch.chunks) == 1 and len(batch.chunks[0]) == 1):
        return [(batch, record)]
    if len(batch.chunks) > 1:
        half = len(batch.chunks) // 2
        parts = [batch.chunks[:half], batch.chunks[half:]]
    else:
        [chunk] = batch.chunks
        half = len(chunk) // 2
        parts = [[slice_chunk(chunk, 0, half)], [slice_chunk(chunk, half, len(chunk))]]
    return [p for chunks in parts for p in _pieces(received, dataclasses.replace(batch, chunks=chunks), most)]


def _record_id(tenant: str, batch: Batch) -> str:
    """The batch's record keys as one message id: a resend of the same lines gets the same id."""
    h = hashlib.sha256(f"{tenant}\0{batch.agent}".encode())
    for chunk in batch.chunks:
        h.update(f"\0{chunk.stream}\0{chunk.seq}\0{len(chunk)}".encode())
    return h.hexdigest()[:40]
