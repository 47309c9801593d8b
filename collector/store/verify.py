"""Verify one tenant's store: every block's tag, every segment against the chain and the
catalog, the chain against the signed checkpoints (and an exported one), and the WAL.

Findings name what happened, in the words an auditor uses:

- ``rewritten``: bytes differ from what was sealed (a block fails its tag, a digest or link
  differs, a signature does not verify);
- ``reordered``: a segment sits where another belongs;
- ``truncated``: the chain or a file ends before what was signed or indexed;
- ``missing``: a segment's file or record is gone;
- ``unrecorded``: a segment file the catalog does not know;
- ``unreadable``: the key to check it with is destroyed or absent (after an erase: expected).

Works the same on a live store, a restored backup or an unpacked backup archive.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from chronolog.evidence.findings import Finding, FindingsReport
from chronolog.timefmt import to_rfc3339
from collector.store.catalog import Catalog, IndexRows, SegmentRow
from collector.store.chain import GENESIS, CheckpointLog, link, signature_ok
from collector.store.crypto import Sealer, Unreadable
from collector.store.keys import TenantKeys
from collector.store.segment import SegmentHead, records_root
from collector.store.verify_index import check_index, orphan_rows
from collector.store.wal import WalHead, frame_extent, head_path, lost_records, read_head, read_wal
from collector.store.wal_ledger import WalLedger, expected

__all__ = ["Finding", "VerifyReport", "check_exported", "verify_tenant"]

_SEGMENT = re.compile(r"seg-(\d{8})\.cls")


@dataclass
class VerifyReport(FindingsReport):
    tenant: str
    segments: int = 0  # live segments checked
    expired: int = 0
    blocks: int = 0
    bytes: int = 0  # segment bytes read
    wal_records: int = 0
    chain_length: int = 0
    head: str = GENESIS.hex()
    checkpoint: dict[str, Any] | None = None  # the newest signed seal record
    findings: list[Finding] = field(default_factory=list)


def _when(us: int) -> str:
    return to_rfc3339(us, "UTC")


def _heads(segment_dir: Path, report: VerifyReport) -> dict[int, tuple[Path, SegmentHead | None]]:
    """Segment files by the number their header claims (by file name if the head is damaged)."""
    found: dict[int, tuple[Path, SegmentHead | None]] = {}
    if not segment_dir.is_dir():
        return found
    for path in sorted(segment_dir.iterdir()):
        m = _SEGMENT.fullmatch(path.name)
        if not m:
            continue
        by_name = int(m.group(1))
        try:
            with open(path, "rb") as f:
                head: SegmentHead | None = SegmentHead.read(f)
        except Unreadable as e:
            report.add("rewritten", path.name, f"segment head is damaged ({e})")
            found.setdefault(by_name, (path, None))
            continue
        assert head is not None
        number = int(head.header.get("number", by_name))
        if number != by_name:
            report.add("reordered", path.name, f"holds segment {number}, not segment {by_name}")
        found[number] = (path, head)
    return found


def _check_body(f: IO[bytes], head: SegmentHead, sealer: Sealer | None, where: str,
                report: VerifyReport) -> bytes:
    """Read a segment's body once: its digest, and every block's tag when ``sealer`` is given."""
    h = hashlib.sha256()
    f.seek(head.body_start)
    h.update(f.read(head.blocks_start - head.body_start))
    for i, entry in enumerate(head.index):
        data = f.read(entry["length"])
        h.update(data)
        report.bytes += len(data)
        if len(data) < entry["length"]:
            report.add("truncated", where, f"the file ends inside block {i}: "
                       f"{len(data)} of its {entry['length']} bytes are there")
            return h.digest()
        report.blocks += 1
        if sealer is not None:
            try:
                head.open_block(sealer, i, data)
            except Unreadable:
                report.add("rewritten", where, f"block {i} fails authentication: its bytes were changed")
    while rest := f.read(1 << 20):
        h.update(rest)
        report.add("rewritten", where, f"{len(rest)} bytes follow the last block")
    return h.digest()


def _check_segment(row: SegmentRow, path: Path, head: SegmentHead, tenant: str, prev: bytes,
                   keys: TenantKeys | None, index: IndexRows | None, report: VerifyReport) -> None:
    """Check one live segment's file against its catalog row and the link before it, and,
    if its file is what was sealed, the catalog's index rows against the file."""
    where = f"segment {row.number}"
    if head.header.get("tenant") != tenant:
        report.add("rewritten", where, f"{path.name} belongs to tenant {head.header.get('tenant')!r}")
    if head.header.get("prev") != prev.hex():
        report.add("rewritten", where, "its header does not chain to the segment before it")
    _check_records_root(row, head, where, report)
    sealer = None
    if keys is not None:
        try:
            sealer = head.sealer(keys.key(tenant, head.keyslot.get("tenant_key", "")))
        except Unreadable as e:
            report.add("unreadable", where, str(e))
    with open(path, "rb") as f:
        digest = _check_body(f, head, sealer, where, report)
    if digest.hex() != row.digest:
        report.add("rewritten", where, f"its contents differ from what was sealed at {_when(row.sealed)}")
    else:
        for finding in check_index(row, head, index):
            report.add(*finding)


def _check_records_root(row: SegmentRow, head: SegmentHead, where: str, report: VerifyReport) -> None:
    """A v2 segment's records root: its header's, its index's block roots' and the catalog's agree."""
    claimed = head.header.get("records_root")
    if claimed != row.records_root:
        report.add("rewritten", where, "its header and the catalog name different records roots")
    elif claimed is not None:
        try:
            computed = records_root(head.index).hex()
        except (KeyError, TypeError, ValueError):
            computed = None
        if computed != claimed:
            report.add("rewritten", where, "its block roots do not add up to its records root")


def verify_tenant(directory: Path, tenant: str, keys: TenantKeys | None, public_key: bytes,
                  signer_id: str, exported: dict[str, Any] | None = None) -> VerifyReport:
    """Check ``tenants/<tenant>`` (``keys`` None: skip block tags, as for a third party)."""
    report = VerifyReport(tenant)
    if not (directory / "catalog.sqlite").exists():
        report.add("missing", "catalog", "catalog.sqlite is gone")
        return report
    catalog = Catalog(directory / "catalog.sqlite")
    try:
        rows = catalog.segments()
        sealed_wal = catalog.sealed_wal()
        index = catalog.index_rows()
    finally:
        catalog.close()
    seals, expired_signed, lost, ledger = _signed_records(directory, tenant, public_key, signer_id, report)
    heads = _heads(directory / "segments", report)
    # A WAL file is sealed if the catalog or a segment says so: an edit of sealed_wal is named
    # by the index check, not taken for WAL files gone.
    sealed_wal |= {str(w) for _, head in heads.values() if head is not None
                   for w in head.header.get("wal", [])}
    prev, links = GENESIS, {0: GENESIS}
    expected = 1
    for row in rows:
        for gap in range(expected, row.number):
            report.add("missing", f"segment {gap}", "neither its file nor its catalog row exists")
        expected = row.number + 1
        if row.state == "expired":
            report.expired += 1
            if row.number not in expired_signed:
                report.add("missing", f"segment {row.number}",
                           "marked expired without a signed expiry record")
        else:
            path, head = heads.pop(row.number, (None, None))
            if path is None:
                report.add("missing", f"segment {row.number}",
                           f"its file is gone ({row.lines} lines from {_when(row.min_ts)} to "
                           f"{_when(row.max_ts)}, sealed {_when(row.sealed)})")
            elif head is not None:
                _check_segment(row, path, head, tenant, prev, keys, index.get(row.number), report)
                report.segments += 1
        heads.pop(row.number, None)
        # The chain runs over the recorded digests (a file that differs was reported above).
        root = bytes.fromhex(row.records_root) if row.records_root is not None else None
        computed = link(tenant, row.number, prev, bytes.fromhex(row.digest), root)
        anchor = seals.get(row.number, {}).get("link")
        if computed.hex() != row.link:
            report.add("rewritten", f"segment {row.number}",
                       "its catalog link does not follow from the chain")
        links[row.number] = computed
        # Carry on from the link the rest of the chain was built on, so one alteration is
        # reported once rather than in every segment after it.
        prev = computed if computed.hex() in (row.link, anchor) else bytes.fromhex(anchor or row.link)
    for number, (path, _) in sorted(heads.items()):
        report.add("unrecorded", path.name, f"segment {number} is not in the catalog")
    for finding in orphan_rows(index, {r.number for r in rows}):
        report.add(*finding)
    report.chain_length = rows[-1].number if rows else 0
    report.head = links[report.chain_length].hex()
    _against_checkpoints(seals, links, report)
    if exported is not None:
        for kind, where, detail in check_exported(exported, tenant, links, public_key):
            report.add(kind, where, detail)
    _check_wal(directory / "wal", keys, sealed_wal, lost, ledger, report)
    return report


def _signed_records(directory: Path, tenant: str, public_key: bytes, signer_id: str,
                    report: VerifyReport) -> tuple[dict[int, dict[str, Any]], set[int], set[str], WalLedger]:
    """The signed seal records by number, the segments signed off as expired, the WAL files
    the collector found cut (each reported: the loss stays a finding for good), and what was
    signed of the WAL files."""
    records, bad = CheckpointLog(directory / "checkpoints.log").read()
    for what in bad:
        report.add("rewritten", "checkpoints.log", what)
    seals: dict[int, dict[str, Any]] = {}
    expired: set[int] = set()
    lost: set[str] = set()
    ledger = WalLedger()
    for i, r in enumerate(records, 1):
        if r.get("signer") != signer_id or r.get("tenant") != tenant or not signature_ok(r, public_key):
            report.add("rewritten", "checkpoints.log", f"record {i} does not carry this collector's "
                       f"signature for tenant {tenant}")
            continue
        if r.get("kind") == "seal":
            seals[int(r["number"])] = r
        elif r.get("kind") == "expire":
            expired.update(int(n) for n in r.get("numbers", []))
        elif r.get("kind") == "wal_loss":
            lost.add(str(r.get("file")))
            when = _when(int(r.get("at", 0)))
            found = f"{r.get('detail')} (found when the collector opened the store, {when})"
            report.add(str(r.get("finding", "truncated")), str(r.get("name")), found)
        else:
            ledger.add(r)
    if seals:
        report.checkpoint = seals[max(seals)]
    return seals, expired, lost, ledger


def _against_checkpoints(seals: dict[int, dict[str, Any]], links: dict[int, bytes],
                         report: VerifyReport) -> None:
    length = report.chain_length
    newest = max(seals, default=0)
    if newest > length:
        report.add("truncated", "chain", f"it ends at segment {length}, but the newest checkpoint, signed "
                   f"at {_when(seals[newest]['sealed'])}, covers segment {newest}: segments "
                   f"{length + 1} to {newest} are gone")
    for number, record in sorted(seals.items()):
        if number in links and links[number].hex() != record["link"]:
            report.add("rewritten", f"segment {number}",
                       "the chain up to it differs from its signed checkpoint")
    if length > newest:
        report.add("unsigned", "chain", f"segments {newest + 1} to {length} have no signed checkpoint")


def check_exported(exported: dict[str, Any], tenant: str, links: dict[int, bytes],
                   public_key: bytes) -> list[tuple[str, str, str]]:
    """Whether the chain passes through an exported checkpoint (it was only appended to)."""
    where = "exported checkpoint"
    try:
        key = base64.b64decode(str(exported.get("public_key", "")), validate=True)
        record = {k: v for k, v in exported.items() if k not in ("public_key", "algorithm")}
        number, want = int(record["number"]), str(record["link"])
    except (ValueError, KeyError, TypeError):
        return [("rewritten", where, "it is not a chronolog checkpoint")]
    if not signature_ok(record, key):
        return [("rewritten", where, "its signature does not verify")]
    if key != public_key:
        return [("rewritten", where, "it was signed by another key than this collector's")]
    if record.get("tenant") != tenant:
        return [("rewritten", where, f"it is for tenant {record.get('tenant')!r}")]
    if number > max(links):
        return [("truncated", where, f"it covers segment {number}; the chain ends at {max(links)}")]
    if number not in links:
        return [("missing", where, f"segment {number}, which it covers, is gone")]
    if links[number].hex() != want:
        return [("rewritten", where, f"the chain up to segment {number} is not the one it signed")]
    return []


def _check_wal(wal_dir: Path, keys: TenantKeys | None, sealed: set[str], lost: set[str], ledger: WalLedger,
               report: VerifyReport) -> None:
    """Each WAL file against its head and what was signed for it (without keys: a cut shows
    without decrypting), every record's tag (with keys), and files gone with their records."""
    present: set[str] = set()
    for path in sorted(wal_dir.glob("wal-*.log")) if wal_dir.is_dir() else []:
        # The head first: on a live store the file only grows after it, never the reverse.
        head = read_head(head_path(path))
        data = path.read_bytes()
        present.update(_check_wal_head(path.name, data, head, lost, ledger, report))
        if keys is None:
            continue
        try:
            contents = read_wal(data, keys)
        except Unreadable as e:
            report.add("unreadable", path.name, str(e))
            continue
        report.wal_records += len(contents.records)
        for what in contents.damaged:
            report.add("rewritten", path.name, what)
    gone = {head.file: (name, head.frames) for name, head in ledger.unaccounted(sealed, lost, present)}
    for path in sorted(wal_dir.glob("wal-*.head")) if wal_dir.is_dir() else []:
        head = read_head(path)
        if path.with_suffix(".log").exists() or head is None or not head.frames:
            continue
        if head.file not in sealed and head.file not in lost:
            name, frames = gone.get(head.file, (path.with_suffix(".log").name, 0))
            gone[head.file] = (name, max(frames, head.frames))
    for name, frames in sorted(gone.values()):
        report.add("missing", name, f"the WAL file is gone with its {frames} acknowledged record(s)")


def _check_wal_head(name: str, data: bytes, head: WalHead | None, lost: set[str], ledger: WalLedger,
                    report: VerifyReport) -> set[str]:
    """Report a cut of one WAL file; returns its id (none when its header is gone)."""
    try:
        header, frames, end = frame_extent(data)
    except Unreadable:
        if head is not None and head.file not in lost:
            report.add("truncated", name,
                       f"its header is gone, and {head.frames} acknowledged record(s) with it")
        return {head.file} if head is not None else set()
    file_id = header.get("file")
    if file_id in lost:
        return {str(file_id)}  # found at open and signed: reported from that record
    found = lost_records(file_id, frames, end, expected(head, ledger, file_id))
    if found is not None:
        report.add("truncated", name, found)
    return {str(file_id)}
