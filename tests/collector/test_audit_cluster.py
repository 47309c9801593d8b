"""The audit trail on a cluster of collectors (collector/admin/audit_copy.py, audit_cluster.py),
against a real 3-node NATS cluster on loopback: each collector copies its ``audit.log`` into the
cluster line by line, and any collector reads every collector's copy."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from support.jetstream import stores
from support.nats import NatsCluster

from collector.admin.audit import AuditTrail
from collector.admin.audit_cluster import ClusterTrails, diverged
from collector.admin.audit_copy import AuditCopier
from collector.admin.audit_verify import verify_trail
from collector.auth.credentials import Principal
from collector.identity import collector_name
from collector.store.jetstream.store import JetStreamStore
from collector.store.keys import Signer

ROOT = Principal("c-root", "*", "admin", "root")


def trail_of(store: JetStreamStore, directory: Path) -> AuditTrail:
    return AuditTrail(directory / "audit.log", store.signer).open()


def copies(store: JetStreamStore, name: str, trail: AuditTrail) -> dict[str, list[bytes]]:
    """Every collector's copy in the cluster, read through ``store``'s collector."""
    return {t.collector: t.lines for t in ClusterTrails(store, name, trail).read() if t.copy}


@contextlib.asynccontextmanager
async def one_entry_copied(cluster: NatsCluster, tmp_path: Path) -> AsyncIterator[
        tuple[JetStreamStore, JetStreamStore, AuditTrail, AuditTrail, AuditCopier, CollectorRegistry]]:
    """Collectors alpha (a) and bravo (b), and alpha's copier with its metrics, once it has
    copied alpha's first entry."""
    with stores(cluster, tmp_path, ack_timeout=1.0) as [a, b]:
        trail_a, trail_b = trail_of(a, tmp_path / "a"), trail_of(b, tmp_path / "b")
        registry = CollectorRegistry()
        copier = AuditCopier(a, trail_a.path, "alpha", registry=registry)
        trail_a.append(ROOT, "retention.set", "city", "done", {"days": 30})
        assert await copier.step()
        yield a, b, trail_a, trail_b, copier, registry


def test_a_collector_name_is_made_once_and_kept(tmp_path: Path) -> None:
    first = collector_name(tmp_path)
    assert collector_name(tmp_path) == first
    (tmp_path / "other").mkdir()
    assert collector_name(tmp_path / "other") != first  # two collectors on one host
    (tmp_path / "collector-name").write_text("no.dots allowed\n")
    with pytest.raises(ValueError, match="is not a collector name"):
        collector_name(tmp_path)


async def test_a_trail_copied_by_one_collector_reads_byte_for_byte_through_another(
        cluster: NatsCluster, tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        trail_a, trail_b = trail_of(a, tmp_path / "a"), trail_of(b, tmp_path / "b")
        trail_a.append(ROOT, "erase", "city", "dry_run", {"segments": 2})
        trail_a.append(ROOT, "retention.set", "city", "done", {"days": 30})
        trail_b.append(ROOT, "hold.add", "city", "done")
        assert await AuditCopier(a, trail_a.path, "alpha").step()
        assert await AuditCopier(b, trail_b.path, "bravo").step()
        assert copies(b, "bravo", trail_b) == {"alpha": trail_a.lines(), "bravo": trail_b.lines()}
        # A copier started again (a restart) goes on after what the stream holds, once each;
        # an entry a local command signed with alpha's own key verifies through bravo.
        local = AuditTrail(trail_a.path, Signer.load_or_create(tmp_path / "a" / "keys", a.master))
        local.append(Principal("local", "*", "admin", "root@vm (local)"), "credentials.issue", "city", "done")
        assert await AuditCopier(a, trail_a.path, "alpha", tmp_path / "a" / "keys").step()
        [alpha] = [t for t in ClusterTrails(b, "bravo", trail_b).read() if t.collector == "alpha"]
        assert alpha.lines == trail_a.lines() and len(alpha.lines) == 3
        assert verify_trail(alpha.lines, b.public_key(), others=alpha.signers).clean
        assert not verify_trail(alpha.lines, b.public_key()).clean  # the cluster's key alone


async def test_an_entry_altered_in_the_cluster_is_named_with_its_collector(
        cluster: NatsCluster, tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        trail_a, trail_b = trail_of(a, tmp_path / "a"), trail_of(b, tmp_path / "b")
        for days in (30, 60, 90):
            trail_a.append(ROOT, "retention.set", "city", "done", {"days": days})
        assert await AuditCopier(a, trail_a.path, "alpha").step()
        # Someone with access to the cluster rewrites the second entry of alpha's copy.
        stream, subject = f"{a.config.prefix}-audit", f"{a.config.prefix}.audit.alpha"
        lines = copies(b, "bravo", trail_b)["alpha"]
        lines[1] = lines[1].replace(b'"days":60', b'"days":6')

        async def rewrite() -> None:
            await a.js.purge_stream(stream, subject=subject)
            for line in lines:
                await a.js.publish(subject, line, stream=stream)
        a.bridge.run(rewrite())

        trails = ClusterTrails(b, "bravo", trail_b).read()
        [alpha] = [t for t in trails if t.collector == "alpha"]
        assert alpha.label == "alpha (cluster copy)" and alpha.lines == lines
        [finding] = verify_trail(alpha.lines, b.public_key()).findings
        assert (finding.kind, finding.where) == ("rewritten", "entry 2 (line 2)")
        assert verify_trail(trail_a.lines(), a.public_key()).clean  # the file itself is intact
        # Through alpha itself, its file no longer begins with its copy: named too.
        file, *in_cluster = ClusterTrails(a, "alpha", trail_a).read()
        [own] = [t for t in in_cluster if t.collector == "alpha"]
        parted = diverged(file, own)
        assert parted is not None and (parted.kind, parted.where) == ("rewritten", "line 2")
        # A file cut at its end (what a chain alone cannot show) is named against the copy.
        trail_a.path.write_bytes(b"".join(line + b"\n" for line in trail_a.lines()[:1]))
        file = ClusterTrails(a, "alpha", trail_a).read()[0]
        parted = diverged(file, own)
        assert parted is not None and (parted.kind, parted.where) == ("removed", "lines 2 to 3")


async def test_entries_written_while_the_cluster_is_down_arrive_once_after_it_is_back(
        own_cluster: NatsCluster, tmp_path: Path) -> None:
    async with one_entry_copied(own_cluster, tmp_path) as (_a, b, trail_a, trail_b, copier, registry):
        own_cluster.stop()
        for n in range(3):  # the requests audited meanwhile do not wait for the cluster
            trail_a.append(ROOT, "erase", "city", "dry_run", {"try": n})
        assert not await copier.step()
        assert registry.get_sample_value("chronolog_collector_audit_copy_failures_total") == 1
        assert registry.get_sample_value("chronolog_collector_audit_copy_pending") == 3

        for node in own_cluster.nodes:
            own_cluster.start_node(node, wait=False)
        for node in own_cluster.nodes:
            own_cluster.wait_healthy(node)

        async def copied() -> None:
            while not await copier.step():
                await asyncio.sleep(0.2)
        await asyncio.wait_for(copied(), 120)
        assert registry.get_sample_value("chronolog_collector_audit_copy_pending") == 0
        # Each entry once, in order, as its line: a publish the client held through the outage
        # and sent on reconnecting is stored once beside its retry (same message id).
        assert copies(b, "bravo", trail_b) == {"alpha": trail_a.lines()}
        assert len(trail_a.lines()) == 4


async def test_a_copy_goes_through_a_leader_election_of_the_audit_stream(
        own_cluster: NatsCluster, tmp_path: Path) -> None:
    # The stream's leader is SIGKILLed: until another is elected (seconds) a publish is not
    # acknowledged; one step of the copier waits for the election instead of failing.
    async with one_entry_copied(own_cluster, tmp_path) as (a, b, trail_a, trail_b, copier, registry):
        stream = f"{a.config.prefix}-audit"
        leader = (await a.bridge.call(a.js.stream_info(stream))).cluster.leader
        [node] = [n for n in own_cluster.nodes if n.name == leader]
        own_cluster.kill(node)
        trail_a.append(ROOT, "erase", "city", "dry_run")
        assert await copier.step()
        assert registry.get_sample_value("chronolog_collector_audit_copy_failures_total") == 0
        assert copies(b, "bravo", trail_b) == {"alpha": trail_a.lines()}
