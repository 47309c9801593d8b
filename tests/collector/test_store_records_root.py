"""Records roots: every sealed segment signs a Merkle tree head over its records, the bytes of
a record never change, verify checks the roots, and stores sealed before roots keep verifying."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import orjson
import zstandard
from support.stores import batch, make_store, store_before_roots

from chronolog.evidence import merkle, tree
from chronolog.evidence.chain import GENESIS, link
from chronolog.evidence.signatures import signature_ok
from chronolog.wire import Batch, Chunk, ClockView
from collector.store.leaves import record_bytes
from collector.store.lines import LineBlock
from collector.store.segment import SegmentHead

TENANT = "city"


def known_block() -> LineBlock:
    clock = ClockView(offset=-0.0012, bound=0.0049, synced=True, status="ok", source="audit")
    chunk = Chunk("file:/var/log/app.log", 18231, 1_795_000_000_402_000, clock,
                  ["GET /login", "état ✓ \"quoted\""], [1_795_000_000_118_000, 1_795_000_000_119_000],
                  ["explicit", "assumed_zone"], ["2026-11-18T09:00:00.118Z", None],
                  ts_flags=[(1, ["dst_ambiguous"])], fields=[(0, {"unit": "app.service", "n": 1.5})])
    return LineBlock.from_batches([(1_795_000_000_500_000,
                                    Batch("agent-1", "web-1", "Asia/Tokyo", 1_795_000_000_450_000, [chunk]))])


def test_the_bytes_of_a_known_record_never_change() -> None:
    # Pinned: a change here breaks the proof of every record sealed before it (docs/evidence.md).
    first, second = record_bytes(known_block())
    assert first == (
        b'{"agent":"agent-1","host":"web-1","stream":"file:/var/log/app.log","tz":"Asia/Tokyo",'
        b'"sent":1795000000450000,"received":1795000000500000,"read_time":1795000000402000,'
        b'"clock":{"offset":-0.0012,"bound":0.0049,"synced":true,"reason":null,"status":"ok",'
        b'"source":"audit"},"seq":18231,"ts":1795000000118000,"ts_source":"explicit",'
        b'"ts_raw":"2026-11-18T09:00:00.118Z","ts_flags":[],"line_flags":[],'
        b'"fields":{"unit":"app.service","n":1.5},"msg":"GET /login"}')
    # UTF-8 as it is, not escaped; the leaf hash a third party computes with sha256sum.
    digest = "d93778b9d21f85a156c28bc8df16e6c349b0aee8cd1ce05ffc9e9a4fa28ffa1d"
    assert hashlib.sha256(second).hexdigest() == digest
    assert merkle.leaf_hash(second) == hashlib.sha256(b"\x00" + second).digest()
    assert second.endswith('"msg":"état ✓ \\"quoted\\""}'.encode())
    assert orjson.loads(second) == {
        "agent": "agent-1", "host": "web-1", "stream": "file:/var/log/app.log", "tz": "Asia/Tokyo",
        "sent": 1795000000450000, "received": 1795000000500000, "read_time": 1795000000402000,
        "clock": {"offset": -0.0012, "bound": 0.0049, "synced": True, "reason": None, "status": "ok",
                  "source": "audit"},
        "seq": 18232, "ts": 1795000000119000, "ts_source": "assumed_zone", "ts_raw": None,
        "ts_flags": ["dst_ambiguous"], "line_flags": [], "fields": {}, "msg": 'état ✓ "quoted"'}


def test_a_record_reads_back_from_a_block_as_the_same_bytes() -> None:
    block = known_block()
    encoded = block.encode(zstandard.ZstdCompressor())
    assert record_bytes(LineBlock.decode(encoded)) == record_bytes(block)  # block format 2
    assert record_bytes(LineBlock.from_json(block.to_json())) == record_bytes(block)  # format 1


async def test_every_seal_signs_a_records_root_that_the_lines_add_up_to(tmp_path: Path) -> None:
    store = make_store(tmp_path, block_bytes=4096)
    await store.append(TENANT, batch("s", 0, 300, host="web-1"), 5)
    await store.append(TENANT, batch("t", 0, 200, host="web-2"), 6)
    assert await store.seal(TENANT) == 1
    directory = tmp_path / "tenants" / TENANT
    with open(directory / "segments" / "seg-00000001.cls", "rb") as f:
        head = SegmentHead.read(f)
        sealer = head.sealer(store.keys.key(TENANT, head.keyslot["tenant_key"]))
        blocks = [head.load_block(f.fileno(), sealer, i) for i in range(len(head.index))]
    assert len(blocks) > 3
    roots = []
    for entry, block in zip(head.index, blocks, strict=True):
        assert block is not None
        assert entry["root"] == merkle.root(record_bytes(block)).hex()
        roots.append((len(block.ts), bytes.fromhex(entry["root"])))
    root = tree.records_root(roots)
    assert head.header["records_root"] == root.hex() and head.header["v"] == 2
    records = [orjson.loads(line) for line in (directory / "checkpoints.log").read_bytes().splitlines()]
    [checkpoint] = [r for r in records if r["kind"] == "seal"]
    assert checkpoint["records_root"] == root.hex()
    assert signature_ok(checkpoint, store.signer.public)
    digest = bytes.fromhex(checkpoint["digest"])
    assert checkpoint["link"] == link(TENANT, 1, GENESIS, digest, root).hex()
    assert checkpoint["link"] != link(TENANT, 1, GENESIS, digest).hex()  # v2 commits to the root
    assert store.verify(TENANT).clean


async def test_a_records_root_changed_in_the_catalog_is_named(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    await store.append(TENANT, batch("s", 0, 50), 5)
    await store.seal(TENANT)
    store.close()
    db = sqlite3.connect(tmp_path / "tenants" / TENANT / "catalog.sqlite")
    with db:
        db.execute("UPDATE segments SET records_root = ? WHERE number = 1", ("ab" * 32,))
    db.close()
    store = make_store(tmp_path)
    details = [(f.kind, f.where, f.detail) for f in store.verify(TENANT).findings]
    assert ("rewritten", "segment 1", "its header and the catalog name different records roots") in details
    assert ("rewritten", "segment 1", "its catalog link does not follow from the chain") in details


async def test_a_store_sealed_before_records_roots_keeps_verifying_and_grows_v2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store_before_roots(data)
    from collector.store.keys import FileMasterKeys
    from collector.store.local import LocalStore, StoreConfig
    store = LocalStore(data, FileMasterKeys.load(tmp_path / "master.key"),
                       StoreConfig(seal_in_subprocess=False)).open()
    report = store.verify(TENANT)
    assert report.clean and report.segments == 2, report.findings
    await store.append(TENANT, batch("s", 80, 30), 5)
    assert await store.seal(TENANT) == 1
    report = store.verify(TENANT)
    assert report.clean and report.chain_length == 3, report.findings
    rows = store._tenants[TENANT].catalog.segments()
    assert [r.records_root is None for r in rows] == [True, True, False]
    assert report.checkpoint is not None and "records_root" in report.checkpoint
    # The v1 links are untouched: the chain still passes through a checkpoint taken before.
    records = [orjson.loads(x) for x in (data / "tenants/city/checkpoints.log").read_bytes().splitlines()]
    assert [("records_root" in r) for r in records if r["kind"] == "seal"] == [False, False, True]
