"""A tenant's catalog (SQLite): what each segment and block holds, so that a query opens only
the blocks it needs; and the tenant's policy (retention, legal holds) and backup record.

One database per tenant, ``tenants/<tenant>/catalog.sqlite``, so erasing a tenant removes its
catalog whole and one tenant's rows can never answer another's query. Every write is one
transaction with ``synchronous=FULL``. The catalog is derived from the segment files (their
header and index) plus policy; `verify` checks the two against each other.
"""

from __future__ import annotations

import collections
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector.store.chain import GENESIS
from collector.store.segment import BuiltSegment

__all__ = ["BlockRef", "BlockSpan", "Catalog", "Hold", "SegmentRow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    number INTEGER PRIMARY KEY, file TEXT NOT NULL, sealed INTEGER NOT NULL,
    min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL, lines INTEGER NOT NULL,
    raw_bytes INTEGER NOT NULL, stored_bytes INTEGER NOT NULL, digest TEXT NOT NULL,
    link TEXT NOT NULL, tenant_key TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'live',
    expired INTEGER, records_root TEXT);
CREATE TABLE IF NOT EXISTS blocks (
    segment INTEGER NOT NULL, block INTEGER NOT NULL, min_ts INTEGER NOT NULL,
    max_ts INTEGER NOT NULL, lines INTEGER NOT NULL, PRIMARY KEY (segment, block));
CREATE INDEX IF NOT EXISTS blocks_time ON blocks (min_ts, max_ts);
CREATE TABLE IF NOT EXISTS block_hosts (segment INTEGER, block INTEGER, host TEXT);
CREATE INDEX IF NOT EXISTS block_hosts_host ON block_hosts (host, segment, block);
CREATE TABLE IF NOT EXISTS block_streams (segment INTEGER, block INTEGER, stream TEXT);
CREATE INDEX IF NOT EXISTS block_streams_stream ON block_streams (stream, segment, block);
CREATE TABLE IF NOT EXISTS seq_runs (segment INTEGER, agent TEXT, stream TEXT, start INTEGER, "end" INTEGER);
CREATE TABLE IF NOT EXISTS sealed_wal (file TEXT PRIMARY KEY, segment INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS holds (
    id TEXT PRIMARY KEY, since INTEGER, until INTEGER, reason TEXT NOT NULL,
    created INTEGER NOT NULL, created_by TEXT NOT NULL, released INTEGER, released_by TEXT);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS backups (
    id TEXT PRIMARY KEY, created INTEGER NOT NULL, segments INTEGER NOT NULL,
    bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, by TEXT NOT NULL);
"""


_SEGMENT_COLUMNS = ("number, file, sealed, min_ts, max_ts, lines, raw_bytes, stored_bytes, digest, link, "
                    "tenant_key, state, expired, records_root")


@dataclass(frozen=True, slots=True)
class SegmentRow:
    number: int
    file: str
    sealed: int
    min_ts: int
    max_ts: int
    lines: int
    raw_bytes: int
    stored_bytes: int
    digest: str
    link: str
    tenant_key: str
    state: str  # "live" or "expired"
    expired: int | None
    records_root: str | None = None  # None: sealed before records roots (chain v1)


@dataclass
class IndexRows:
    """What the catalog's index tables hold for one segment (to check against its file)."""

    blocks: set[tuple[int, int, int, int]] = field(default_factory=set)  # (block, min_ts, max_ts, lines)
    hosts: set[tuple[int, str]] = field(default_factory=set)  # (block, host)
    streams: set[tuple[int, str]] = field(default_factory=set)  # (block, stream)
    runs: set[tuple[str, str, int, int]] = field(default_factory=set)  # (agent, stream, start, end)
    wal: set[str] = field(default_factory=set)  # WAL file ids it replaced


@dataclass(frozen=True, slots=True)
class BlockRef:
    segment: int
    block: int


@dataclass(frozen=True, slots=True)
class BlockSpan:
    """A block and the event-time range of its lines."""

    segment: int
    block: int
    min_ts: int
    max_ts: int


@dataclass(frozen=True, slots=True)
class Hold:
    """A legal hold: the whole tenant when ``since`` and ``until`` are None, else [since, until)."""

    id: str
    since: int | None
    until: int | None
    reason: str
    created: int
    created_by: str
    released: int | None
    released_by: str | None

    def covers(self, min_ts: int, max_ts: int) -> bool:
        lo = self.since if self.since is not None else -(2**63)
        hi = self.until if self.until is not None else 2**63
        return max_ts >= lo and min_ts < hi

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "since": self.since, "until": self.until, "reason": self.reason,
                "created": self.created, "created_by": self.created_by, "released": self.released,
                "released_by": self.released_by}


class Catalog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(segments)")}
        if "records_root" not in columns:  # a catalog made before records roots
            self._db.execute("ALTER TABLE segments ADD COLUMN records_root TEXT")
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def add_segment(self, built: BuiltSegment, file: str, link: bytes, stored_bytes: int) -> None:
        """Record a sealed segment and the WAL files it replaces, in one transaction."""
        h = built.header
        n = h["number"]
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("INSERT INTO segments (number, file, sealed, min_ts, max_ts, lines, raw_bytes, "
                           "stored_bytes, digest, link, tenant_key, records_root) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                           (n, file, h["sealed"], h["min_ts"], h["max_ts"], h["lines"], h["raw"],
                            stored_bytes, built.digest.hex(), link.hex(), built.tenant_key,
                            h.get("records_root")))
                blocks = [(n, i, b["min_ts"], b["max_ts"], b["lines"]) for i, b in enumerate(built.index)]
                db.executemany("INSERT INTO blocks VALUES (?,?,?,?,?)", blocks)
                db.executemany("INSERT INTO block_hosts VALUES (?,?,?)",
                               [(n, i, host) for i, b in enumerate(built.index) for host in b["hosts"]])
                db.executemany("INSERT INTO block_streams VALUES (?,?,?)",
                               [(n, i, s) for i, b in enumerate(built.index) for s in b["streams"]])
                db.executemany("INSERT INTO seq_runs VALUES (?,?,?,?,?)",
                               [(n, *run) for run in built.seq_runs])
                db.executemany("INSERT INTO sealed_wal VALUES (?,?)", [(w, n) for w in h["wal"]])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def segments(self, since: int = 0) -> list[SegmentRow]:
        """Every segment (live and expired) numbered ``since`` or later, in chain order."""
        return [SegmentRow(*r) for r in self._rows(f"SELECT {_SEGMENT_COLUMNS} FROM segments "  # noqa: S608
                                                   "WHERE number >= ? ORDER BY number", (since,))]

    def last(self) -> tuple[int, bytes]:
        """The number and link of the newest segment (0 and the genesis link if none)."""
        rows = self._rows("SELECT number, link FROM segments ORDER BY number DESC LIMIT 1")
        return (rows[0][0], bytes.fromhex(rows[0][1])) if rows else (0, GENESIS)

    def blocks(self, since: int, until: int, hosts: frozenset[str] = frozenset()) -> list[BlockRef]:
        """Blocks of live segments that may hold lines with ``since <= ts < until`` from ``hosts``."""
        sql = ("SELECT b.segment, b.block FROM blocks b JOIN segments s ON s.number = b.segment "
               "WHERE s.state = 'live' AND b.max_ts >= ? AND b.min_ts < ?")
        args: list[Any] = [since, until]
        if hosts:
            marks = ",".join("?" * len(hosts))
            # Only placeholders are formatted in; the host names are bound parameters.
            sql += (" AND EXISTS (SELECT 1 FROM block_hosts h WHERE h.segment = b.segment "  # noqa: S608
                    f"AND h.block = b.block AND h.host IN ({marks}))")
            args += sorted(hosts)
        sql += " ORDER BY b.segment, b.block"
        return [BlockRef(*r) for r in self._rows(sql, tuple(args))]

    def block_spans(self, since: int, until: int, hosts: frozenset[str] = frozenset(),
                    streams: frozenset[str] = frozenset(), up_to: int | None = None) -> list[BlockSpan]:
        """Blocks of live segments numbered up to ``up_to`` that may hold lines with
        ``since <= ts < until`` from ``hosts`` and ``streams`` (empty: any), by ``min_ts``."""
        sql = ("SELECT b.segment, b.block, b.min_ts, b.max_ts FROM blocks b JOIN segments s "
               "ON s.number = b.segment WHERE s.state = 'live' AND b.max_ts >= ? AND b.min_ts < ?")
        args: list[Any] = [since, until]
        if up_to is not None:
            sql += " AND b.segment <= ?"
            args.append(up_to)
        # Only placeholders are formatted in; names are bound parameters.
        for table, column, names in (("block_hosts", "host", hosts), ("block_streams", "stream", streams)):
            if names:
                marks = ",".join("?" * len(names))
                sql += (f" AND EXISTS (SELECT 1 FROM {table} x WHERE x.segment = b.segment "  # noqa: S608
                        f"AND x.block = b.block AND x.{column} IN ({marks}))")
                args += sorted(names)
        sql += " ORDER BY b.min_ts, b.segment, b.block"
        return [BlockSpan(*r) for r in self._rows(sql, tuple(args))]

    def seq_runs(self) -> Iterator[tuple[str, str, int, int]]:
        for r in self._rows('SELECT agent, stream, start, "end" FROM seq_runs'):
            yield r[0], r[1], r[2], r[3]

    def index_rows(self) -> dict[int, IndexRows]:
        """Every index table's rows, by segment number (a number with no segment included)."""
        found: dict[int, IndexRows] = collections.defaultdict(IndexRows)
        for s, b, lo, hi, n in self._rows("SELECT segment, block, min_ts, max_ts, lines FROM blocks"):
            found[s].blocks.add((b, lo, hi, n))
        for s, b, host in self._rows("SELECT segment, block, host FROM block_hosts"):
            found[s].hosts.add((b, host))
        for s, b, stream in self._rows("SELECT segment, block, stream FROM block_streams"):
            found[s].streams.add((b, stream))
        for s, *run in self._rows('SELECT segment, agent, stream, start, "end" FROM seq_runs'):
            found[s].runs.add((run[0], run[1], run[2], run[3]))
        for w, s in self._rows("SELECT file, segment FROM sealed_wal"):
            found[s].wal.add(w)
        return dict(found)

    def sealed_wal(self) -> set[str]:
        return {r[0] for r in self._rows("SELECT file FROM sealed_wal")}

    def mark_expired(self, numbers: list[int], at: int) -> None:
        with self._lock:
            self._db.executemany("UPDATE segments SET state = 'expired', expired = ? WHERE number = ?",
                                 [(at, n) for n in numbers])

    def holds(self, active_only: bool = True) -> list[Hold]:
        where = " WHERE released IS NULL" if active_only else ""
        return [Hold(*r) for r in self._rows(f"SELECT * FROM holds{where} ORDER BY created")]  # noqa: S608

    def add_hold(self, hold: Hold) -> None:
        with self._lock:
            self._db.execute("INSERT INTO holds VALUES (?,?,?,?,?,?,?,?)",
                             (hold.id, hold.since, hold.until, hold.reason, hold.created,
                              hold.created_by, None, None))

    def release_hold(self, hold_id: str, at: int, by: str) -> bool:
        with self._lock:
            cur = self._db.execute("UPDATE holds SET released = ?, released_by = ? "
                                   "WHERE id = ? AND released IS NULL", (at, by, hold_id))
            return cur.rowcount == 1

    def setting(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM settings WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_setting(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                             "SET value = excluded.value", (key, value))

    def add_backup(self, backup_id: str, created: int, segments: int, size: int, digest: str,
                   by: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO backups VALUES (?,?,?,?,?,?)",
                             (backup_id, created, segments, size, digest, by))

    def backups(self) -> list[dict[str, Any]]:
        keys = ("id", "created", "segments", "bytes", "sha256", "by")
        return [dict(zip(keys, r, strict=True)) for r in self._rows("SELECT * FROM backups ORDER BY created")]

    def snapshot(self, target: Path) -> None:
        """A consistent copy of the database at ``target`` (SQLite's online backup)."""
        with self._lock:
            dest = sqlite3.connect(target)
            try:
                self._db.backup(dest)
            finally:
                dest.close()
