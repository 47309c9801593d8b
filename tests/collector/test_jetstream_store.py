"""The JetStream store against a real 3-node NATS cluster (upstream v2.14.0 from PyPI) on
loopback: two stores as two collectors would hold them, sharing everything through it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from support.jetstream import stores
from support.nats import NatsCluster
from support.processes import wait_for
from support.stores import batch

from collector.admin.disposal import disposal_report
from collector.store import StoreUnavailable
from collector.store.jetstream.health import ClusterHealth
from collector.store.jetstream.mirror import decode_entry, entry_key
from collector.store.jetstream.store import JetStreamStore
from collector.store.tenant import SealSettings


def lines(store: JetStreamStore, tenant: str) -> list[str]:
    return sorted(m for block in store.scan(tenant, 0, 2**62) for m in block.msg)


def assert_one_chain(store: JetStreamStore, tenant: str, want: list[str]) -> None:
    """Segments numbered from 1 without a gap, holding each line of ``want`` once; verify clean."""
    rows = store.mirror(tenant).catalog.segments()
    assert [r.number for r in rows] == list(range(1, len(rows) + 1))
    assert sum(r.lines for r in rows) == len(want)
    assert lines(store, tenant) == sorted(want)
    assert store.verify(tenant).clean


async def test_lines_written_through_either_collector_are_read_through_both(cluster: NatsCluster,
                                                                             tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        assert (await a.append("city", batch("s", 0, 100), 1)).accepted == 100
        assert (await b.append("city", batch("s", 100, 50), 1)).accepted == 50
        resent = await b.append("city", batch("s", 0, 100), 1)  # the agent resends to the other
        assert resent.accepted == 0 and resent.duplicates == 100
        want = sorted(f"s {i}" for i in range(150))
        assert lines(a, "city") == lines(b, "city") == want  # unsealed, from the stream
        assert await a.seal("city") == 1
        assert await b.seal("city") == 0  # nothing left: sealed once
        assert lines(a, "city") == lines(b, "city") == want  # now from the segment
        [report] = a.streams("city")
        assert (report.lines, report.last_seq, report.gaps) == (150, 149, [])
        for store in (a, b):
            verified = store.verify("city")
            assert verified.clean, verified.findings
            assert verified.segments == 1
        assert a.checkpoint("city") == b.checkpoint("city")


async def test_a_line_in_two_messages_is_sealed_once(cluster: NatsCluster, tmp_path: Path) -> None:
    # Outside JetStream's duplicate window (or cut differently), a resend is a second message:
    # the seal keeps each line once.
    with stores(cluster, tmp_path) as [a, b]:
        await a.append("city", batch("s", 0, 10), 1)
        await b.append("city", batch("s", 5, 10), 1)  # lines 5-9 again, in another message
        assert lines(a, "city") == sorted(f"s {i}" for i in range(15))
        assert await b.seal("city") == 1
        assert lines(a, "city") == sorted(f"s {i}" for i in range(15))
        assert a.verify("city").clean


async def test_a_backlog_is_sealed_into_several_segments_every_collector_reads(cluster: NatsCluster,
                                                                                 tmp_path: Path) -> None:
    # One record encoder's messages end up in several segments.
    small = SealSettings(segment_max_bytes=1 << 16, segment_max_age=3600)
    with stores(cluster, tmp_path, seal=small) as [a, b]:
        for k in range(6):
            await a.append("city", batch("s", k * 100, 100, text="x" * 400), 1)
        assert await a.seal("city") >= 3
        rows = b.mirror("city").catalog.segments()
        assert len(rows) >= 3 and sum(r.lines for r in rows) == 600
        assert len(lines(b, "city")) == 600 and b.verify("city").clean


async def test_sealers_prepare_a_backlog_side_by_side_into_one_chain(cluster: NatsCluster,
                                                                      tmp_path: Path) -> None:
    # Two sealer processes: each round prepares two segments at once, sealed in stream order.
    small = SealSettings(segment_max_bytes=1 << 16, segment_max_age=3600)
    with stores(cluster, tmp_path, seal=small, sealers=2) as [a, b]:
        for k in range(7):
            await (a, b)[k % 2].append("city", batch("s", k * 100, 100, text="x" * 400), 1)
        assert await a.seal("city") >= 4
        assert_one_chain(b, "city", [f"{'x' * 400} {i}" for i in range(700)])


async def test_a_line_in_two_segments_of_one_round_is_sealed_once(cluster: NatsCluster,
                                                                   tmp_path: Path) -> None:
    # The two messages are prepared side by side, each against what was sealed before the
    # round; the second is prepared again once the first is sealed.
    small = SealSettings(segment_max_bytes=1 << 16, segment_max_age=3600)
    with stores(cluster, tmp_path, seal=small, sealers=2) as [a, b]:
        await a.append("city", batch("s", 0, 100, text="x" * 400), 1)
        await b.append("city", batch("s", 50, 100, text="x" * 400), 1)  # lines 50-99 again
        assert await a.seal("city") == 2
        assert lines(b, "city") == sorted(f"{'x' * 400} {i}" for i in range(150))
        rows = b.mirror("city").catalog.segments()
        assert [r.lines for r in rows] == [100, 50]
        assert b.verify("city").clean


async def test_a_segment_brought_twice_into_a_collectors_copy_is_recorded_once(cluster: NatsCluster,
                                                                               tmp_path: Path) -> None:
    # A seal and a reader's sync (two threads) may both bring the newest catalog entry.
    with stores(cluster, tmp_path) as [a, _]:
        await a.append("city", batch("s", 0, 100), 1)
        assert await a.seal("city") == 1
        mirror = a.mirror("city")
        entry = a.bridge.run(a.catalog_kv.get(entry_key("city", 1)))
        assert entry.value is not None and not mirror.add(decode_entry(entry.value))
        assert [r.lines for r in mirror.catalog.segments()] == [100]
        assert mirror.held_runs() == {("a1", "s"): [(0, 100)]}
        assert lines(a, "city") == sorted(f"s {i}" for i in range(100))


async def test_a_batch_bigger_than_a_message_goes_as_several(cluster: NatsCluster, tmp_path: Path) -> None:
    with stores(cluster, tmp_path, max_payload=1 << 20) as [a, b]:
        big = batch("s", 0, 3000, text="x" * 1000)  # 3 MB of lines: three messages at least
        assert (await a.append("city", big, 1)).accepted == 3000
        messages = b.bridge.run(b._messages("city", 0, None))
        assert len(messages) >= 3 and all(len(m.data) <= 1 << 20 for m in messages)
        assert (await b.append("city", big, 1)).duplicates == 3000  # a resend: stored once
        assert len(lines(b, "city")) == 3000
        assert await b.seal("city") == 1 and a.verify("city").clean


async def test_two_collectors_sealing_at_once_make_one_chain(cluster: NatsCluster, tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        for k in range(6):
            await (a if k % 2 else b).append("city", batch("s", k * 50, 50), 1)
        made = await asyncio.gather(a.seal("city"), b.seal("city"))
        assert sum(made) >= 1
        assert_one_chain(a, "city", [f"s {i}" for i in range(300)])
        assert lines(b, "city") == sorted(f"s {i}" for i in range(300))


async def test_erasing_a_tenant_on_the_cluster_leaves_nothing_of_it_readable(cluster: NatsCluster,
                                                                              tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        await a.append("gone", batch("s", 0, 100), 1)
        await a.append("kept", batch("s", 0, 100), 1)
        assert await a.seal("gone") == 1
        await b.append("gone", batch("s", 100, 20), 1)  # unsealed, in the stream
        assert len(lines(b, "gone")) == 120  # b holds the key unwrapped and a catalog copy
        plan = a.erase_plan("gone")
        assert (plan["segments"], plan["wal_files"], plan["location"]) == ([1], 1, "JP/Tokyo")
        report = await a.erase("gone")
        assert report["verification"]["decrypt_failed"] and report["verification"]["opened_by"] == []
        # The segment, and two stream messages: the sealed one (purged a minute after its
        # seal) and the unsealed one.
        assert report["segments"] == 1 and report["files_deleted"] == 3 and report["lines"] == 100
        assert report["store"]["location"] == "JP/Tokyo"
        # A backup of the catalog bucket is a key backup: the report's notes say so (a master
        # key rotation, the local store's remedy, does not reach the cluster's keys).
        notes = disposal_report(report_id="r", plan=plan, erased=report, credentials=[], person={},
                                data_dir="unused")["sanitization"]["notes"]
        assert f"catalog bucket ({a.config.prefix}-catalog)" in notes and "rotate-master" not in notes
        b.forget_erased()  # what b's sealing loop does every tick
        assert lines(a, "gone") == lines(b, "gone") == []
        assert "gone" not in a.tenants() and "gone" not in b.tenants()
        with pytest.raises(StoreUnavailable, match="erased"):
            await b.append("gone", batch("s", 200, 1), 1)
        # Nothing of it is left in the cluster: no messages, no bucket, no catalog entry.
        assert b.bridge.run(b._messages("gone", 0, None)) == []
        assert not [k for k in b.keys.store.keys("seg.gone.")]
        assert lines(b, "kept") == sorted(f"s {i}" for i in range(100))
        assert (await b.seal("kept")) == 1 and b.verify("kept").clean


async def test_a_node_killed_mid_ingest_loses_no_acknowledged_line_and_doubles_none(
        own_cluster: NatsCluster, tmp_path: Path) -> None:
    # The stream's leader is SIGKILLed while two collectors publish, and restarted. An append
    # that raised was not acknowledged: the agent sends it again.
    nats = own_cluster
    acked: list[int] = []
    with stores(nats, tmp_path, write_deadline=60) as [a, b]:
        async def ship(store: JetStreamStore, first: int, count: int) -> None:
            for k in range(first, first + count):
                while True:
                    try:
                        await store.append("city", batch("s", k * 10, 10), 1)
                        break
                    except StoreUnavailable:
                        await asyncio.sleep(0.2)
                acked.append(k)

        async def kill_the_leader_midway() -> str:
            await asyncio.to_thread(wait_for, lambda: len(acked) >= 40, "40 acknowledged batches")
            leader = (await a.bridge.call(a.js.stream_info(a.wal_stream))).cluster.leader
            [node] = [n for n in nats.nodes if n.name == leader]
            nats.kill(node)
            await asyncio.to_thread(wait_for, lambda: len(acked) >= 120, "batches after the kill", 120)
            nats.start_node(node)
            return str(leader)

        async with asyncio.TaskGroup() as group:  # one failing cancels the others
            killing = group.create_task(kill_the_leader_midway())
            group.create_task(ship(a, 0, 100))
            group.create_task(ship(b, 100, 100))
        assert killing.result() in ("n1", "n2", "n3")
        assert sorted(acked) == list(range(200))
        want = sorted(f"s {i}" for i in range(2000))
        assert lines(b, "city") == want  # once each, before sealing
        await a.seal("city")
        got = lines(b, "city")
        assert len(got) == len(set(got)) and got == want
        assert sum(r.lines for r in b.mirror("city").catalog.segments()) == 2000
        assert a.verify("city").clean


def test_cluster_health_says_when_a_stream_has_no_quorum(own_cluster: NatsCluster, tmp_path: Path) -> None:
    nats = own_cluster
    with stores(nats, tmp_path, count=1) as [store]:
        registry = CollectorRegistry()
        health = ClusterHealth(registry, nats.monitor_urls, store.config.prefix, "JP/Tokyo")

        def value(name: str, kind: str) -> float | None:
            return registry.get_sample_value(name, {"kind": kind})

        def polled(condition: Callable[[], bool]) -> bool:
            health.poll()
            return condition()

        wait_for(lambda: polled(lambda: value("chronolog_nats_streams", "wal") == 1
                                and value("chronolog_nats_streams_without_quorum", "wal") == 0),
                 "the WAL stream to have a leader")
        assert value("chronolog_nats_streams", "catalog") == value("chronolog_nats_streams", "leases") == 1
        assert registry.get_sample_value("chronolog_collector_store_info",
                                         {"backend": "jetstream", "location": "JP/Tokyo"}) == 1
        nats.kill(nats.nodes[0])
        nats.kill(nats.nodes[1])  # one of three left: no stream can have quorum
        wait_for(lambda: polled(lambda: all(value("chronolog_nats_streams_without_quorum", k) == 1
                                            for k in ("wal", "catalog", "leases"))),
                 "every stream to be reported without quorum", 60)
        down = {"server": nats.monitor_urls[0]}
        assert registry.get_sample_value("chronolog_nats_server_healthy", down) == 0
        nats.start_node(nats.nodes[0])
        wait_for(lambda: polled(lambda: all(value("chronolog_nats_streams_without_quorum", k) == 0
                                            for k in ("wal", "catalog", "leases"))),
                 "every stream to have quorum again", 60)


async def test_an_evidence_export_through_either_collector_proves_every_line(cluster: NatsCluster,
                                                                              tmp_path: Path) -> None:
    """/v1/export on the cluster: the collector that did not seal fetches the segments it needs
    into its mirror, and its bundle proves every line against the shared signed checkpoint."""
    import io

    from chronolog.evidence.bundle import write_bundle
    from chronolog.evidence.verify import verify_bundle
    from collector.auth.credentials import Principal
    from collector.evidence.clock import NoCrossCheck
    from collector.evidence.export import ExportRequest, build_export
    from collector.query.spec import Page, QuerySpec

    def bundle(store: JetStreamStore) -> bytes:
        request = ExportRequest(Page(QuerySpec(0, 10**12, limit=10_000), None, 600.0, {}), 10**7, 60.0,
                                Principal("cred-1", "city", "investigator", "ivan"))
        built = build_export(store, "city", request, NoCrossCheck(), 1_795_000_000_000_000)
        assert (built.matches, built.unproven) == (150, 0)
        out = io.BytesIO()
        write_bundle(out, built.manifest, built.statement, built.records, built.proofs)
        return out.getvalue()

    with stores(cluster, tmp_path) as [a, b]:
        await a.append("city", batch("s", 0, 100, host="web-1"), 1)
        await a.append("city", batch("s", 100, 50, host="web-2"), 1)
        assert await a.seal("city") == 1
        assert not list((tmp_path / "cache1").rglob("seg-*.cls"))  # b holds no segment yet
        for store in (b, a):
            report = verify_bundle(bundle(store), store.signer.public)
            assert report.clean, report.findings
            assert (report.matches, report.proven) == (150, 150)
            assert report.head is not None and report.head["number"] == 1
        assert a.identity() == b.identity()  # one signing key for the cluster


async def test_a_credential_issued_or_revoked_on_one_collector_holds_on_every_one(cluster: NatsCluster,
                                                                                   tmp_path: Path) -> None:
    """Each collector keeps its own credentials.json; merged with the cluster's copy both ways, a
    token issued on A works on B, and one revoked on B stops working on A, even when both changed
    at the same time (collector/auth/shared.py)."""
    from collector.auth.credentials import CredentialStore
    from collector.auth.shared import sync_credentials

    with stores(cluster, tmp_path) as [a, b]:
        on_a, on_b = CredentialStore(tmp_path / "a.json"), CredentialStore(tmp_path / "b.json")

        async def sync_all() -> None:
            for credentials, store in ((on_a, a), (on_b, b), (on_a, a)):
                assert await sync_credentials(credentials, store.text)

        first_id, first = on_a.issue("city", "agent", "web-1")
        await sync_all()
        assert on_b.authenticate(first) is not None and on_b.authenticate(first).credential_id == first_id
        # At once: A issues a second token while B revokes the first; neither change is lost.
        _, second = on_a.issue("city", "investigator", "ivan")
        on_b.revoke(first_id)
        await sync_all()
        for credentials in (on_a, on_b):
            assert credentials.authenticate(first) is None  # revoked everywhere, never live again
            assert credentials.authenticate(second) is not None
        assert [e["id"] for e in on_a.entries()] == [e["id"] for e in on_b.entries()]
        assert "sha256" not in str(on_a.entries())  # digests stay in the files and the bucket
