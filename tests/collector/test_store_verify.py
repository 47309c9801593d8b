"""Tamper evidence: verify names what was rewritten, reordered, truncated or missing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from support.stores import batch, lines, make_store

from collector.store.local import LocalStore

TENANT = "city"


async def sealed_store(root: Path, segments: int = 5) -> LocalStore:
    """A store whose tenant has ``segments`` sealed segments of 300 lines (several blocks each)."""
    store = make_store(root, block_bytes=4096)
    for k in range(segments):
        await store.append(TENANT, batch("s", k * 300, 300, text=f"segment {k + 1} line"), 1)
        assert await store.seal(TENANT) == 1
    return store


def seg(root: Path, n: int) -> Path:
    return root / "tenants" / TENANT / "segments" / f"seg-{n:08d}.cls"


def kinds(store: LocalStore, **kw: object) -> list[tuple[str, str]]:
    return [(f.kind, f.where) for f in store.verify(TENANT, **kw).findings]  # type: ignore[arg-type]


def drop_catalog_rows(root: Path, numbers: list[int]) -> None:
    db = sqlite3.connect(root / "tenants" / TENANT / "catalog.sqlite")
    with db:
        for table, column in (("segments", "number"), ("blocks", "segment"), ("block_hosts", "segment"),
                              ("block_streams", "segment"), ("seq_runs", "segment"),
                              ("sealed_wal", "segment")):
            db.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(n,) for n in numbers])
    db.close()


async def test_an_untouched_store_verifies_clean_with_what_it_checked(tmp_path: Path) -> None:
    store = await sealed_store(tmp_path)
    await store.append(TENANT, batch("s", 1500, 10), 1)  # in the WAL, not sealed yet
    report = store.verify(TENANT)
    assert report.clean, report.findings
    assert (report.segments, report.chain_length, report.wal_records) == (5, 5, 1)
    assert report.blocks > 5  # several blocks per segment
    assert report.checkpoint is not None and report.checkpoint["number"] == 5
    assert report.head == report.checkpoint["link"]


async def test_one_flipped_byte_in_a_block_is_named(tmp_path: Path) -> None:
    store = await sealed_store(tmp_path)
    store.close()
    data = bytearray(seg(tmp_path, 3).read_bytes())
    data[-100] ^= 0x01  # inside the last block's ciphertext
    seg(tmp_path, 3).write_bytes(bytes(data))
    store = make_store(tmp_path)
    findings = store.verify(TENANT).findings
    assert {(f.kind, f.where) for f in findings} == {("rewritten", "segment 3")}
    assert any("fails authentication" in f.detail for f in findings)
    assert any("differ from what was sealed" in f.detail for f in findings)
    # The query still answers from every other block, and says nothing it cannot vouch for.
    got = lines(store, TENANT)
    assert "segment 2 line 599" in got and len(got) < 1500


async def test_a_dropped_segment_is_named_missing(tmp_path: Path) -> None:
    store = await sealed_store(tmp_path)
    store.close()
    seg(tmp_path, 2).unlink()
    store = make_store(tmp_path)
    [finding] = store.verify(TENANT).findings
    assert (finding.kind, finding.where) == ("missing", "segment 2")
    assert "300 lines" in finding.detail and "its file is gone" in finding.detail


async def test_a_segment_dropped_with_its_catalog_row_is_still_missing(tmp_path: Path) -> None:
    store = await sealed_store(tmp_path)
    store.close()
    seg(tmp_path, 2).unlink()
    drop_catalog_rows(tmp_path, [2])
    store = make_store(tmp_path)
    assert ("missing", "segment 2") in kinds(store)


async def test_two_swapped_segments_are_named_reordered(tmp_path: Path) -> None:
    store = await sealed_store(tmp_path)
    store.close()
    a, b = seg(tmp_path, 2), seg(tmp_path, 4)
    tmp = a.with_suffix(".swap")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    store = make_store(tmp_path)
    assert sorted(kinds(store)) == [("reordered", "seg-00000002.cls"), ("reordered", "seg-00000004.cls")]


async def test_a_truncated_chain_is_named_against_the_signed_checkpoint(tmp_path: Path) -> None:
    store = await sealed_store(tmp_path)
    store.close()
    for n in (4, 5):  # the last two segments vanish, files and catalog rows alike
        seg(tmp_path, n).unlink()
    drop_catalog_rows(tmp_path, [4, 5])
    store = make_store(tmp_path)
    findings = store.verify(TENANT).findings
    [finding] = [f for f in findings if f.where == "chain"]
    assert finding.kind == "truncated"
    assert "ends at segment 3" in finding.detail and "covers segment 5" in finding.detail
    # The WAL files sealed into them went with them, as their signed records tell.
    assert sorted((f.kind, f.where) for f in findings if f is not finding) == [
        ("missing", "wal-00000004.log"), ("missing", "wal-00000005.log")]


async def test_an_exported_checkpoint_catches_a_truncation_that_cut_the_local_log(tmp_path: Path) -> None:
    store = await sealed_store(tmp_path)
    exported = store.checkpoint(TENANT)
    assert exported is not None and exported["number"] == 5
    assert store.verify(TENANT, exported).clean
    store.close()
    for n in (4, 5):
        seg(tmp_path, n).unlink()
    drop_catalog_rows(tmp_path, [4, 5])
    log = tmp_path / "tenants" / TENANT / "checkpoints.log"
    lines = log.read_bytes().splitlines()
    third = [(r["kind"], r.get("number")) for r in map(orjson.loads, lines)].index(("seal", 3))
    log.write_bytes(b"".join(line + b"\n" for line in lines[: third + 1]))  # cut right after seal 3
    store = make_store(tmp_path)
    assert store.verify(TENANT).clean  # locally consistent: only the outside copy can tell
    assert kinds(store, exported=exported) == [("truncated", "exported checkpoint")]


async def test_a_rewritten_segment_with_a_matching_catalog_row_breaks_the_chain(tmp_path: Path) -> None:
    store = await sealed_store(tmp_path)
    store.close()
    # Rewrite segment 2's catalog digest and link as an attacker without the keys could.
    db = sqlite3.connect(tmp_path / "tenants" / TENANT / "catalog.sqlite")
    with db:
        db.execute("UPDATE segments SET digest = ? WHERE number = 2", ("00" * 32,))
    db.close()
    store = make_store(tmp_path)
    found = kinds(store)
    assert ("rewritten", "segment 2") in found


async def test_a_forged_checkpoint_record_is_named(tmp_path: Path) -> None:
    store = await sealed_store(tmp_path, segments=2)
    store.close()
    log = tmp_path / "tenants" / TENANT / "checkpoints.log"
    records = [orjson.loads(x) for x in log.read_bytes().splitlines()]
    [*_, last_seal] = [r for r in records if r["kind"] == "seal"]
    last_seal["link"] = "00" * 32
    log.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    store = make_store(tmp_path)
    assert ("rewritten", "checkpoints.log") in kinds(store)


# ---- the catalog's index tables (issue 16): what queries and de-duplication trust ------------

def edit_catalog(root: Path, *statements: str) -> None:
    db = sqlite3.connect(root / "tenants" / TENANT / "catalog.sqlite")
    with db:
        for statement in statements:
            db.execute(statement)
    db.close()


@pytest.mark.parametrize("statement, kind, words", [
    ("DELETE FROM blocks WHERE segment = 2", "missing", "blocks row(s) are gone"),
    ("DELETE FROM block_hosts WHERE segment = 2", "missing", "block_hosts row(s) are gone"),
    ("DELETE FROM block_streams WHERE segment = 2", "missing", "block_streams row(s) are gone"),
    ("DELETE FROM seq_runs WHERE segment = 2", "missing", "a resend of those lines would be stored again"),
    ("INSERT INTO seq_runs VALUES (2, 'a1', 's', 5000, 6000)", "rewritten",
     "new lines would be dropped as duplicates"),
    ("UPDATE blocks SET max_ts = 0 WHERE segment = 2 AND block = 1", "rewritten", "1 blocks row(s)"),
    ("INSERT INTO block_hosts VALUES (2, 0, 'db-9')", "rewritten", "for the wrong host"),
    ("DELETE FROM sealed_wal WHERE segment = 2", "missing", "could be sealed again"),
    ("UPDATE segments SET max_ts = 1 WHERE number = 2", "rewritten", "its catalog row says max_ts 1"),
])
async def test_an_edit_of_the_catalogs_index_is_named(tmp_path: Path, statement: str, kind: str,
                                                      words: str) -> None:
    store = await sealed_store(tmp_path)
    store.close()
    edit_catalog(tmp_path, statement)
    store = make_store(tmp_path)
    findings = [(f.kind, f.where, f.detail) for f in store.verify(TENANT).findings]
    assert [(k, w) for k, w, _ in findings if k == kind] == [(kind, "segment 2")], findings
    assert any(words in detail for _, _, detail in findings), findings
    store.close()


async def test_index_rows_naming_no_segment_are_named(tmp_path: Path) -> None:
    store = await sealed_store(tmp_path, segments=2)
    store.close()
    edit_catalog(tmp_path, "INSERT INTO sealed_wal VALUES ('w-not-sealed', 9)",
                 "INSERT INTO seq_runs VALUES (9, 'a1', 's', 0, 100000)")
    store = make_store(tmp_path)
    [finding] = store.verify(TENANT).findings
    assert (finding.kind, finding.where) == ("rewritten", "catalog")
    assert "2 index row(s) name segment 9, which does not exist" in finding.detail
    store.close()
