"""Retention removes whole segments once old enough; legal holds keep what they cover; both
leave a chain that still verifies."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from support.stores import batch, lines, make_store

from collector.store.catalog import Hold, SegmentRow
from collector.store.retention import DAY_US, expiring

NOW = 1_800_000_000_000_000


def row(number: int, min_ts: int, max_ts: int, sealed: int, state: str = "live") -> SegmentRow:
    return SegmentRow(number, f"seg-{number:08d}.cls", sealed, min_ts, max_ts, 10, 100, 50, "", "", "tk",
                      state, None)


def hold(since: int | None, until: int | None) -> Hold:
    return Hold("hold-1", since, until, "case 42", 0, "alice", None, None)


def test_a_segment_expires_once_its_events_and_its_sealing_are_both_old() -> None:
    old, recent = NOW - 40 * DAY_US, NOW - 5 * DAY_US
    rows = [row(1, old, old + 1, old), row(2, old, old + 1, recent), row(3, old, NOW + DAY_US, old),
            row(4, old, old + 1, old, state="expired")]
    assert [r.number for r in expiring(rows, [], 30, NOW)] == [1]
    assert expiring(rows, [], 0, NOW) == []  # 0 keeps everything


def test_a_legal_hold_keeps_every_segment_it_overlaps() -> None:
    t = NOW - 100 * DAY_US
    rows = [row(1, t, t + 10, t), row(2, t + 20, t + 30, t), row(3, t + 40, t + 50, t)]
    assert [r.number for r in expiring(rows, [hold(t + 25, t + 45)], 30, NOW)] == [1]
    assert expiring(rows, [hold(None, None)], 30, NOW) == []  # the whole tenant


async def test_applying_retention_removes_old_segments_and_the_chain_still_verifies(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    for k in range(4):
        await store.append("city", batch("s", k * 10, 10, t0=k * 1_000_000), 1)
        await store.seal("city")
    store.add_hold("city", 2_000_000, 2_000_100, "case 42", "alice")  # covers segment 3
    store.set_retention("city", 30)
    later = NOW
    preview = store.retention("city", now=later)
    assert preview["would_expire"]["segments"] == [1, 2, 4]
    assert len(lines(store, "city")) == 40  # a preview removes nothing
    gone = store.apply_retention("city", now=later)
    assert gone["segments"] == [1, 2, 4] and gone["lines"] == 30
    assert lines(store, "city") == sorted(f"s {i}" for i in range(20, 30))
    segment_files = sorted(p.name for p in (tmp_path / "tenants/city/segments").iterdir())
    assert segment_files == ["seg-00000003.cls"]
    report = store.verify("city")
    assert report.clean, report.findings
    assert (report.segments, report.expired, report.chain_length) == (1, 3, 4)
    # Sealing goes on after the gap, chained to the expired segments' links.
    await store.append("city", batch("s", 40, 5), 1)
    await store.seal("city")
    assert store.verify("city").clean


async def test_a_segment_marked_expired_without_a_signed_record_is_named_missing(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    for k in range(2):
        await store.append("city", batch("s", k * 10, 10), 1)
        await store.seal("city")
    store.close()
    db = sqlite3.connect(tmp_path / "tenants/city/catalog.sqlite")
    with db:
        db.execute("UPDATE segments SET state = 'expired' WHERE number = 1")
    db.close()
    store = make_store(tmp_path)
    findings = store.verify("city").findings
    assert [(f.kind, f.where) for f in findings] == [("missing", "segment 1")]
    assert "without a signed expiry record" in findings[0].detail
    assert (tmp_path / "tenants/city/segments/seg-00000001.cls").exists()  # not deleted on its word
