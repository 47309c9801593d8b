"""Legal holds and retention on the JetStream store, against a real 3-node NATS cluster on
loopback: two stores as two collectors would hold them. ``now`` is given, as in the local
store's retention tests (test_store_retention.py): no test waits for days to pass."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path
from typing import Any

import nats.js.errors
import pytest
from support.jetstream import stores
from support.nats import NatsCluster
from support.processes import wait_for
from support.stores import batch, lines

from collector.store import DamagedPart
from collector.store.catalog import Hold
from collector.store.jetstream.policy import expiry_key
from collector.store.jetstream.store import JetStreamStore

NOW = 1_800_000_000_000_000  # µs, far past every test line's event time and sealing


async def four_segments(store: JetStreamStore) -> None:
    """Segments 1-4 of tenant city, 10 lines each, segment k+1 at event times from k seconds."""
    for k in range(4):
        await store.append("city", batch("s", k * 10, 10, t0=k * 1_000_000), 1)
        assert await store.seal("city") == 1


def objects(store: JetStreamStore, tenant: str) -> dict[int, bool]:
    """Whether each catalogued segment's object is still in the tenant's bucket."""
    mirror = store.mirror(tenant)
    found = {}
    for row in mirror.catalog.segments():
        name = mirror.object_name(row.number)
        assert name is not None
        try:
            store.bridge.run(store._get_object(tenant, name))
            found[row.number] = True
        except nats.js.errors.NotFoundError:
            found[row.number] = False
    return found


async def test_a_hold_placed_on_one_collector_is_honoured_by_the_other(cluster: NatsCluster,
                                                                      tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        await four_segments(a)
        hold = a.add_hold("city", 2_000_000, 2_000_100, "case 42", "alice")  # covers segment 3
        assert b.holds("city") == [hold]
        assert b.erase_plan("city")["holds"] == [hold.to_dict()]  # erasure is refused on B too
        b.set_retention("city", 30)
        preview = a.retention("city", now=NOW)
        assert (preview["retention_days"], preview["holds"]) == (30, [hold.to_dict()])
        assert preview["would_expire"]["segments"] == [1, 2, 4]
        assert objects(a, "city") == {1: True, 2: True, 3: True, 4: True}  # a preview removes nothing

        gone = b.apply_retention("city", now=NOW)
        assert (gone["segments"], gone["lines"]) == ([1, 2, 4], 30)
        assert objects(a, "city") == {1: False, 2: False, 3: True, 4: False}
        want = sorted(f"s {i}" for i in range(20, 30))
        assert lines(a, "city") == lines(b, "city") == want
        for store in (a, b):
            report = store.verify("city")
            assert report.clean, report.findings
            assert (report.segments, report.expired, report.chain_length) == (1, 3, 4)

        # Released on B, once: A's next application removes segment 3 too.
        assert b.release_hold("city", hold.id, "bob")
        assert not a.release_hold("city", hold.id, "bob")
        assert a.holds("city") == []
        [released] = a.holds("city", active_only=False)
        assert (released.id, released.released_by) == (hold.id, "bob")
        assert a.apply_retention("city", now=NOW)["segments"] == [3]
        assert lines(b, "city") == []

        # Sealing goes on after the expired segments, chained to their links.
        await b.append("city", batch("s", 40, 5), 1)
        assert await b.seal("city") == 1
        assert lines(a, "city") == sorted(f"s {i}" for i in range(40, 45))
        report = a.verify("city")
        assert report.clean, report.findings
        assert (report.segments, report.expired, report.chain_length) == (1, 4, 5)


async def test_two_collectors_applying_retention_at_once_record_one_expiry(cluster: NatsCluster,
                                                                          tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        await four_segments(a)
        a.set_retention("city", 30)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda s: s.apply_retention("city", now=NOW), (a, b)))
        assert sorted(r["segments"] for r in results) == [[], [1, 2, 3, 4]]
        assert a.policy.expiry("city", 1) is not None and a.policy.expiry("city", 2) is None
        for store in (a, b):
            report = store.verify("city")
            assert report.clean, report.findings
            assert (report.segments, report.expired) == (0, 4)


async def test_a_hold_placed_while_retention_decides_is_honoured(cluster: NatsCluster, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # B places a hold on the whole tenant right after A has read the holds: A's decision no
    # longer stands (the policy fence moved), A decides again and keeps everything.
    with stores(cluster, tmp_path) as [a, b]:
        await four_segments(a)
        b.set_retention("city", 30)
        placed: list[Hold] = []
        read_holds = a.policy.holds

        def holds_then_b_places_one(tenant: str, active_only: bool = True) -> list[Hold]:
            found = read_holds(tenant, active_only)
            if not placed:
                placed.append(b.add_hold(tenant, None, None, "case 7", "carol"))
            return found

        monkeypatch.setattr(a.policy, "holds", holds_then_b_places_one)
        assert a.apply_retention("city", now=NOW)["segments"] == []
        assert len(placed) == 1
        assert objects(b, "city") == {1: True, 2: True, 3: True, 4: True}
        assert len(lines(b, "city")) == 40 and a.policy.expiry("city", 1) is None


async def test_a_segment_removed_without_a_signed_expiry_is_reported(cluster: NatsCluster,
                                                                    tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        await four_segments(a)
        b.set_retention("city", 30)
        b.add_hold("city", 2_000_000, 4_000_000, "case 9", "alice")  # keeps 3 and 4
        assert b.apply_retention("city", now=NOW)["segments"] == [1, 2]
        # Segment 3's object deleted behind the collectors' backs: named missing, not expired.
        name = a.mirror("city").object_name(3)

        async def delete() -> Any:
            return await (await a.js.object_store(a._bucket("city"))).delete(name)

        a.bridge.run(delete())
        # Segment 4 marked expired by an unsigned record written into the catalog bucket.
        a.text.put(expiry_key("city", 2), {"kind": "expire", "tenant": "city", "numbers": [4], "at": NOW})
        report = b.verify("city")
        found = sorted((f.kind, f.where, f.detail) for f in report.findings)
        assert [(kind, where) for kind, where, _ in found] == [
            ("missing", "segment 3"), ("missing", "segment 4"), ("rewritten", "checkpoints.log")]
        assert "its file is gone" in found[0][2]
        assert "without a signed expiry record" in found[1][2]
        assert report.expired == 3  # 1 and 2 signed off; 4 only claimed


async def test_retention_is_applied_by_the_collector_that_takes_the_tenants_retention_lease(
        cluster: NatsCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        await four_segments(a)
        rounds: list[int] = []
        applied: list[str] = []
        listed = b.tenants

        def tenants_counted() -> list[str]:
            rounds.append(1)
            return listed()

        monkeypatch.setattr(b, "tenants", tenants_counted)
        monkeypatch.setattr(b, "apply_retention", lambda tenant, now=None: applied.append(tenant))
        # A holds city's retention lease, as while it applies retention itself.
        revision = a.bridge.run(a.leases_kv.create("retain.city", a.id.encode()))
        b.retention_interval = 0.05
        loop = b.bridge.submit(b._retention_loop())
        try:
            wait_for(lambda: len(rounds) >= 3, "three rounds of B's retention loop")
            assert applied == []  # every round found the lease taken
            a.bridge.run(a.leases_kv.delete("retain.city", last=revision))
            wait_for(lambda: applied, "B applying city's retention once A's lease is gone")
            assert set(applied) == {"city"}
        finally:
            loop.cancel()


async def test_a_query_reading_while_retention_removes_its_segments_loses_only_those(
        cluster: NatsCluster, tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        await four_segments(a)
        a.set_retention("city", 30)
        a.add_hold("city", 3_000_000, None, "case 5", "alice")  # keeps segment 4
        with b.reader("city") as reader:  # B's snapshot: all four segments, none fetched yet
            parts = reader.parts(0, 2**62)
            assert a.apply_retention("city", now=NOW)["segments"] == [1, 2, 3]
            loaded = [part.load(None) for part in parts]
        assert [len(block) if block is not None else None for block in loaded] == [None, None, None, 10]
        # An object deleted without an expiry is damage, as a missing file on a local store.
        await a.append("city", batch("s", 40, 5, t0=5_000_000), 1)
        assert await a.seal("city") == 1
        with b.reader("city") as reader:
            [part] = reader.parts(5_000_000, 2**62)

            name = a.mirror("city").object_name(5)

            async def delete() -> Any:
                return await (await a.js.object_store(a._bucket("city"))).delete(name)

            a.bridge.run(delete())
            with pytest.raises(DamagedPart, match="seg-00000005"):
                part.load(None)
