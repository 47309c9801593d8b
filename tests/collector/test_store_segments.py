"""Segments: lines come back sorted and whole, queries open only the blocks they need, and a
block cannot be moved or paired with another header unseen."""

from __future__ import annotations

import dataclasses
import io
import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.stores import batch, make_store

from chronolog.wire import Batch, Chunk, ClockView
from collector.store.crypto import Unreadable, new_key
from collector.store.lines import LineBlock, seq_runs
from collector.store.segment import SegmentHead, build_segment


def unordered_batch() -> Batch:
    clock = ClockView(offset=-0.001, bound=0.004, synced=True, status="ok", source="audit")
    chunk = Chunk("file:/a", 10, 500, clock, ["c", "a", "b"], [30, 10, 20],
                  ["explicit", "assumed_zone", "read_time"], ["ts-c", None, "ts-b"],
                  ts_flags=[(1, ["dst_ambiguous"])], line_flags=[(2, ["truncated"])],
                  fields=[(0, {"unit": "x.service"})])
    return Batch("a1", "web-1", "Asia/Tokyo", 400, [chunk])


async def test_sealed_lines_come_back_in_timeline_order_with_every_attribute(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    await store.append("city", unordered_batch(), 777)
    await store.seal("city")
    [block] = list(store.scan("city", 0, 100))
    assert block.ordered and list(block.ts) == [10, 20, 30] and block.msg == ["a", "b", "c"]
    assert list(block.seq) == [11, 12, 10] and block.src == ["assumed_zone", "read_time", "explicit"]
    assert block.raw == [None, "ts-b", "ts-c"]
    assert block.ts_flags == {0: ["dst_ambiguous"]} and block.line_flags == {1: ["truncated"]}
    assert block.fields == {2: {"unit": "x.service"}}
    [origin] = block.origins
    assert (origin.agent, origin.host, origin.sent, origin.received) == ("a1", "web-1", 400, 777)
    assert origin.read == 500
    clock = dataclasses.asdict(origin.clock)
    assert clock == {"offset": -0.001, "bound": 0.004, "synced": True, "reason": None, "status": "ok",
                     "source": "audit"}


async def test_a_narrow_query_opens_only_the_blocks_it_needs(tmp_path: Path) -> None:
    store = make_store(tmp_path, block_bytes=4096)
    await store.append("city", batch("s", 0, 2000, host="web-1", t0=0), 1)
    await store.append("city", batch("t", 0, 2000, host="db-2", t0=1_000_000), 1)
    await store.seal("city")
    everything = list(store.scan("city", 0, 2**62))
    assert len(everything) > 20
    narrow = list(store.scan("city", 1000, 1010))
    assert len(narrow) == 1 and 1000 in narrow[0].ts
    by_host = list(store.scan("city", 0, 2**62, frozenset({"db-2"})))
    assert all("db-2" in b.hosts() for b in by_host)  # one block may straddle both hosts
    assert len(everything) // 2 - 1 <= len(by_host) <= len(everything) // 2 + 1


def built(key: bytes) -> tuple[bytes, SegmentHead]:
    lines = LineBlock.from_batches([(1, batch("s", 0, 300))])
    lines = lines.take(lines.timeline_order(), ordered=True)
    seg = build_segment(lines, tenant="city", number=1, prev=bytes(32), sealed=1, wal_files=[],
                        tenant_key_id="tk-1", tenant_key=key, runs=[("a1", "s", 0, 300)], block_bytes=2048)
    return seg.data, SegmentHead.read(io.BytesIO(seg.data))


def test_a_block_cannot_be_read_in_another_position_or_under_another_header() -> None:
    key = new_key()
    data, head = built(key)
    f = io.BytesIO(data)
    sealer = head.sealer(key)
    assert len(head.index) >= 3
    block0 = head.read_sealed(f, 0)
    head.open_block(sealer, 0, block0)
    with pytest.raises(Unreadable):
        head.open_block(sealer, 1, block0)  # moved
    _, other_head = built(key)
    with pytest.raises(Unreadable):
        other_head.open_block(other_head.sealer(key), 0, block0)  # another segment's header and key
    with pytest.raises(Unreadable):
        built(new_key())[1].sealer(key)  # a data key wrapped by another tenant key


@given(st.lists(st.tuples(st.sampled_from("ab"), st.integers(0, 60), st.integers(1, 5)), min_size=1))
def test_seq_runs_are_the_merged_ranges_of_the_lines_held(chunks: list[tuple[str, int, int]]) -> None:
    runs = seq_runs(("agent", stream, seq, seq + n) for stream, seq, n in chunks)
    for stream in "ab":
        held = {s for _, st_, start, end in runs if st_ == stream for s in range(start, end)}
        assert held == {s for st_, seq, n in chunks if st_ == stream for s in range(seq, seq + n)}
    same = [r for r in runs if r[1] == "a"]
    assert all(a[3] < b[2] for a, b in itertools.pairwise(same))  # disjoint, not touching


async def test_a_restarted_store_never_appends_to_an_earlier_wal_file(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    await store.append("city", batch("s", 0, 1), 1)
    store.close()
    wal = tmp_path / "tenants/city/wal"
    first = {p.name: p.read_bytes() for p in wal.iterdir()}
    store = make_store(tmp_path)
    await store.append("city", batch("s", 1, 1), 1)
    assert {p.name: p.read_bytes() for p in wal.iterdir() if p.name in first} == first
    assert len(list(wal.glob("wal-*.log"))) == 2  # a new file, with a new data key


async def test_skipping_parts_without_the_text_never_changes_a_search(tmp_path: Path) -> None:
    from collector.query.engine import Run
    from collector.query.spec import Page, QuerySpec, TextFilter

    texts = ['say "hi"', "back\\slash", "東京 ログ", "two\nlines", "tab\there", "plain"]
    store = make_store(tmp_path, block_bytes=4096)
    every: list[str] = []
    for k, text in enumerate(texts):
        b = batch(f"s{k}", 0, 300, text=text)
        every += b.chunks[0].msg
        await store.append("city", b, 1)
    await store.seal("city")
    b = batch("wal", 0, 5, text='still "in" the WAL')
    every += b.chunks[0].msg
    await store.append("city", b, 1)  # JSON records: skipped by their JSON text
    for needle in ['"hi"', "\\s", "東京", "o\nl", "\t", "plain 29", '"in"', "absent"]:
        with store.reader("city") as reader:
            spec = QuerySpec(0, None, text=TextFilter(grep=(needle,)), limit=100_000)
            found = [r.block.message(r.index) for r in Run(reader, Page(spec, None, 60), 2**62, 0)]
        assert sorted(found) == sorted(m for m in every if needle in m), needle
    store.close()


LINE_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@given(st.lists(st.tuples(LINE_TEXT, st.sampled_from(["explicit", "read_time"]),
                          st.one_of(st.none(), LINE_TEXT)), min_size=1, max_size=30),
       st.sampled_from([1, 2]), st.one_of(st.none(), LINE_TEXT))
def test_blocks_of_either_format_read_back_every_attribute(
        rows: list[tuple[str, str, str | None]], block_format: int, needle: str | None) -> None:
    n = len(rows)
    chunk = Chunk("s", 5, 500, ClockView(offset=0.5, bound=0.7, status="over_budget"), [r[0] for r in rows],
                  list(range(100, 100 + n)), [r[1] for r in rows], [r[2] for r in rows],
                  ts_flags=[(0, ["dst_ambiguous"])], fields=[(n - 1, {"k": [1, "v"]})])
    lines = LineBlock.from_batches([(9, Batch("a1", "web-1", "UTC", 400, [chunk]))])
    lines = lines.take(lines.timeline_order(), ordered=True)
    key = new_key()
    seg = build_segment(lines, tenant="city", number=1, prev=bytes(32), sealed=1, wal_files=[],
                        tenant_key_id="tk-1", tenant_key=key, runs=[("a1", "s", 5, 5 + n)],
                        block_format=block_format)
    f = io.BytesIO(seg.data)
    head = SegmentHead.read(f)
    with tempfile.TemporaryFile() as t:
        t.write(seg.data)
        t.flush()
        block = head.load_block(t.fileno(), head.sealer(key), 0, needle)
    if block is None:  # skipped (format 1, by its JSON text): only when no message holds the text
        assert block_format == 1 and not any(needle in r[0] for r in rows)
        return
    assert block.msg == [r[0] for r in rows] and [block.message(i) for i in range(n)] == block.msg
    assert list(block.ts) == list(range(100, 100 + n)) and list(block.seq) == list(range(5, 5 + n))
    assert block.src == [r[1] for r in rows] and [block.source(i) for i in range(n)] == block.src
    assert block.raw == [r[2] for r in rows]
    assert block.ts_flags == {0: ["dst_ambiguous"]} and block.fields == {n - 1: {"k": [1, "v"]}}
    assert block.origins == lines.origins and block.origin_key(0) == ("web-1", "s", "a1")
    text, ends = block.text()
    assert [text[(ends[i - 1] + 1 if i else 0):ends[i]].decode() for i in range(n)] == block.msg
