"""Building an evidence bundle (docs/evidence.md): select the query's lines with the query
engine (every filter, context and order of ``GET /v1/query``) and the clock evidence of their
hosts, then prove each record against the signed checkpoint of the segment it was sealed in,
and the chain to the newest checkpoint. Blocking: run it in a worker thread.

Lines still in the WAL cannot be proved (no root was signed over them yet): the export seals
the WAL first (the caller does, `EvidenceSource.seal`), so only lines that arrive while it runs
can be left there; they are exported, marked unproven, with the reason. So are lines of
segments sealed before records roots existed.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chronolog.evidence import merkle, tree
from chronolog.evidence.bundle import FORMAT, VERSION, encode_hashes, manifest_digest, manifest_line
from chronolog.tool import TOOL
from collector.auth.credentials import Principal
from collector.evidence.clock import CrossCheck
from collector.evidence.source import EvidenceSource
from collector.query.engine import NEVER, Run
from collector.query.spec import Cursor, Page
from collector.store import Part, StoreReader
from collector.store.leaves import RECORD_FORMAT, record_bytes
from collector.store.lines import LineBlock
from collector.store.sealed import BlockAt, ChainExtract, SegmentSeal

__all__ = ["CLOCK_STREAM", "KINDS", "Export", "ExportRequest", "build_export"]

CLOCK_STREAM = "clock"  # the agents' clock evidence (agent/clock/records.py)
KINDS = {"hit": "h", "before": "b", "after": "a", "clock": "c"}  # a record's kind, in the manifest


@dataclass(frozen=True)
class ExportRequest:
    page: Page  # the query, as `collector.query.spec.from_params` read it (no cursor)
    clock_margin: int  # microseconds of clock evidence before and after the range
    skew_margin: float  # seconds: how far the query reads around its window (collector.query)
    by: Principal


@dataclass
class Export:
    """A bundle's parts, ready to write (`chronolog.evidence.bundle.write_bundle`)."""

    manifest: bytes
    statement: dict[str, Any]
    records: list[bytes]
    proofs: dict[str, Any]
    matches: int  # the query's lines (hits and context); the rest is clock evidence
    selection: dict[str, Any]
    unproven: int
    hosts: list[str] = field(default_factory=list)

    @property
    def clock_records(self) -> int:
        return len(self.records) - self.matches


@dataclass(slots=True)
class _Item:
    """One exported record: its line, kind, where its block was sealed, its bytes and leaf hash."""

    block: LineBlock
    index: int
    kind: str
    key: tuple[int, str, str, str, int]  # (time, host, stream, agent, seq)
    at: BlockAt | None
    record: bytes = b""
    leaf: bytes = b""
    why: str | None = None  # why it is unproven


class _Placed:
    """A `StoreReader` that remembers where each block it loads was sealed. The rows the
    export keeps hold their blocks, so an id seen again belongs to a new block: its entry is
    replaced."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader
        self.at: dict[int, BlockAt | None] = {}

    def parts(self, since: int, until: int, hosts: frozenset[str] = frozenset(),
              streams: frozenset[str] = frozenset()) -> list[Part]:
        return [dataclasses.replace(p, _load=self._loader(p))
                for p in self.reader.parts(since, until, hosts, streams)]

    def _loader(self, part: Part) -> Callable[[str | None], LineBlock | None]:
        def load(contains: str | None) -> LineBlock | None:
            block = part.load(contains)
            if block is not None:
                self.at[id(block)] = part.at
            return block
        return load

    def holds(self, agent: str, stream: str, seq: int) -> bool:
        return self.reader.holds(agent, stream, seq)


def _query_items(reader: _Placed, request: ExportRequest, now: int) -> tuple[list[_Item], dict[str, Any]]:
    """The query's lines as the engine gives them, page after page while a page stops only
    for its time budget, up to the query's limit of hits."""
    page, spec = request.page, request.page.spec
    items: list[_Item] = []
    hits = context = 0
    damaged: list[dict[str, str]] = []
    while True:
        run = Run(reader, page, now, request.skew_margin)
        for row in run:
            items.append(_Item(row.block, row.index, row.kind, row.key, reader.at.get(id(row.block))))
        s = run.summary
        hits, context, damaged = hits + s.hits, context + s.context, damaged + s.damaged
        if s.stopped != "time_budget" or s.cursor is None or hits >= spec.limit:
            stopped = s.stopped if s.stopped != "time_budget" or hits < spec.limit else "limit"
            return items, {"hits": hits, "context": context, "complete": stopped is None and not damaged,
                           "stopped": stopped, "damaged": damaged}
        page = Page(dataclasses.replace(spec, limit=spec.limit - hits), Cursor.decode(s.cursor), page.budget,
                    page.params)


def _clock_items(reader: _Placed, request: ExportRequest, hosts: frozenset[str],
                 taken: set[tuple[str, int]]) -> list[_Item]:
    """Every clock record of ``hosts`` from ``clock_margin`` before the range to as long after
    it, but those already among the query's lines, in timeline order."""
    spec, margin = request.page.spec, request.clock_margin
    since = spec.since - margin
    until = NEVER if spec.until is None else spec.until + margin
    found: list[_Item] = []
    for part in reader.parts(since, until, hosts, frozenset({CLOCK_STREAM})):
        block = part.load(None)
        if block is None:
            continue
        wanted = {k for k in range(block.origin_count())
                  if (o := block.origin_at(k)).stream == CLOCK_STREAM and o.host in hosts}
        ts, origin, seq = block.ts, block.origin, block.seq
        for i in range(len(ts)):
            if origin[i] in wanted and since <= ts[i] < until:
                o = block.origin_at(origin[i])
                if (o.agent, seq[i]) not in taken:
                    found.append(_Item(block, i, "clock", (ts[i], o.host, CLOCK_STREAM, o.agent, seq[i]),
                                       reader.at.get(id(block))))
    found.sort(key=lambda item: item.key)
    return found


def _prove_blocks(items: list[_Item]) -> dict[tuple[int, int], tuple[int, list[bytes], list[int]]]:
    """Records and leaf hashes of every exported record; per sealed block touched, its line
    count, leaf hashes and the exported positions in it."""
    touched: dict[tuple[int, int], tuple[int, list[bytes], list[int]]] = {}
    hashed: dict[int, tuple[list[bytes], list[bytes]]] = {}
    for position, item in enumerate(items):
        block = item.block
        if item.at is None:
            item.record = record_bytes(block.take([item.index]))[0]
            item.leaf = merkle.leaf_hash(item.record)
            item.why = ("it was still in the WAL (it arrived while the export ran): no root was signed "
                        "over it yet")
            continue
        if id(block) not in hashed:
            records = record_bytes(block)
            hashed[id(block)] = (records, merkle.leaf_hashes(records))
        records, leaves = hashed[id(block)]
        item.record, item.leaf = records[item.index], leaves[item.index]
        key = (item.at.segment, item.at.block)
        touched.setdefault(key, (len(records), leaves, []))[2].append(position)
    return touched


def _segment_proof(seal: SegmentSeal | None, number: int,
                   touched: dict[int, tuple[int, list[bytes], list[int]]],
                   items: list[_Item]) -> dict[str, Any] | None:
    """The proof of one segment's exported records, or None (and each item's reason) when
    they cannot be proved."""
    why = None
    if seal is None:
        why = f"segment {number} expired while the export ran"
    elif seal.blocks is None:
        why = f"segment {number} was sealed before records roots: only whole segments can be proved"
    elif seal.checkpoint is None or "records_root" not in seal.checkpoint:
        why = f"segment {number} has no signed checkpoint (sealed before an unclean stop)"
    else:
        for block, (lines, leaves, _) in touched.items():
            if block >= len(seal.blocks) or seal.blocks[block] != (lines, merkle.head(leaves)):
                why = (f"block {block} of segment {number} no longer matches the root sealed for it: "
                       "run `chronolog admin verify`")
    if why is not None or seal is None or seal.blocks is None:
        for _, _, positions in touched.values():
            for p in positions:
                items[p].why = why
        return None
    blocks = []
    for block, (lines, leaves, positions) in sorted(touched.items()):
        indices = [items[p].index for p in positions]
        blocks.append({"block": block, "lines": lines, "proof": encode_hashes(merkle.prove(leaves, indices)),
                       "records": [[items[p].index, p] for p in positions]})
    upper = [merkle.leaf_hash(tree.block_leaf(n, root)) for n, root in seal.blocks]
    return {"number": number, "blocks": len(seal.blocks), "checkpoint": seal.checkpoint,
            "proof": encode_hashes(merkle.prove(upper, sorted(touched))), "touched": blocks}


def _chain(extract: ChainExtract) -> dict[str, Any]:
    return {"from": extract.first, "prev": extract.prev.hex(),
            "links": [[n, d.hex(), r.hex() if r is not None else None] for n, d, r in extract.links],
            "head": extract.head}


def build_export(source: EvidenceSource, tenant: str, request: ExportRequest, cross: CrossCheck,
                 now: int) -> Export:
    with source.reader(tenant) as store_reader:
        reader = _Placed(store_reader)
        lines, selection = _query_items(reader, request, now)
        hosts = frozenset({i.key[1] for i in lines} | request.page.spec.hosts)
        taken = {(i.key[3], i.key[4]) for i in lines if i.key[2] == CLOCK_STREAM}
        items = lines + (_clock_items(reader, request, hosts, taken) if hosts else [])
        by_segment: dict[int, dict[int, tuple[int, list[bytes], list[int]]]] = {}
        for (segment, block), proof_input in _prove_blocks(items).items():
            by_segment.setdefault(segment, {})[block] = proof_input
    seals = source.segment_seals(tenant, sorted(by_segment))
    segments = [p for n in sorted(by_segment)
                if (p := _segment_proof(seals.get(n), n, by_segment[n], items)) is not None]
    extract = source.chain_extract(tenant, segments[0]["number"] if segments else None)
    unproven = [[p, item.why] for p, item in enumerate(items) if item.why is not None]
    proofs = {"segments": segments, "unproven": unproven, "chain": _chain(extract)}
    manifest = _manifest(source, tenant, request, now, items, len(lines), selection, sorted(hosts),
                         cross.cross_check(tenant, sorted(hosts)))
    line = manifest_line(manifest)
    statement = source.sign({"kind": "export", "tenant": tenant, "manifest": manifest_digest(line),
                             "records": len(items), "created": now})
    return Export(line, statement, [i.record for i in items], proofs, len(lines), selection, len(unproven),
                  sorted(hosts))


def _manifest(source: EvidenceSource, tenant: str, request: ExportRequest, now: int, items: list[_Item],
              matches: int, selection: dict[str, Any], hosts: list[str],
              cross_check: dict[str, Any]) -> dict[str, Any]:
    spec, by = request.page.spec, request.by
    margin = request.clock_margin
    return {
        "format": FORMAT, "v": VERSION, "tenant": tenant, "created": now,
        "by": {"name": by.name, "role": by.role, "credential": by.credential_id},
        "collector": {"tool": TOOL, "host": socket.gethostname(), **source.identity()},
        "query": {**spec.selection(), "limit": spec.limit, "zone": spec.zone, "params": request.page.params},
        "selection": selection,
        "clock_evidence": {"stream": CLOCK_STREAM, "hosts": hosts, "margin_us": margin,
                           "since": spec.since - margin,
                           "until": None if spec.until is None else spec.until + margin},
        "cross_check": cross_check,
        "records": {"format": RECORD_FORMAT, "count": len(items), "matches": matches,
                    "clock": len(items) - matches, "unproven": sum(1 for i in items if i.why is not None),
                    "kinds": "".join(KINDS[i.kind] for i in items),
                    "leaf_hashes": encode_hashes([i.leaf for i in items])},
    }
