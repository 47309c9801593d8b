"""The audit trail of a cluster, read as one through the real commands: 3 NATS servers and 2
collectors on loopback (docs/scale-out.md). An administrator action through collector A shows
in ``chronolog audit`` through collector B, tagged with A; an entry of A's copy rewritten in the
cluster is named, with A, by ``chronolog audit --verify`` through B, and through A as a file
that no longer begins with its copy."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from support.fleet import Fleet
from support.jetstream import jetstream_tables, second_collector
from support.nats import NatsCluster
from support.processes import BIN, Daemon, wait_for


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    cluster = NatsCluster(tmp_path / "nats").start()
    yield cluster
    cluster.stop()


async def rewrite(servers: list[str], subject: str, change: Callable[[list[bytes]], list[bytes]]) -> None:
    """What someone with access to the cluster could do: a subject's messages replaced."""
    nc = await nats.connect(servers=servers)
    try:
        js = nc.jetstream()
        stream = "chronolog-audit"
        info = await js.stream_info(stream)
        messages = [await js.get_msg(stream, seq)
                    for seq in range(info.state.first_seq, info.state.last_seq + 1)]
        lines = [m.data or b"" for m in messages if m.subject == subject]
        await js.purge_stream(stream, subject=subject)
        for line in change(lines):
            await js.publish(subject, line, stream=stream)
    finally:
        await nc.close()


def test_an_action_through_one_collector_is_audited_and_verified_through_the_other(
        tmp_path: Path, nats_cluster: NatsCluster, daemons: Callable[[str, Path, Path], Daemon]) -> None:
    (tmp_path / "a").mkdir()
    fleet = Fleet(tmp_path / "a", daemons, extra_config=jetstream_tables(nats_cluster))
    url_b = second_collector(fleet, tmp_path / "b", daemons)
    name_a = (tmp_path / "a" / "store" / "collector-name").read_text().strip()
    name_b = (tmp_path / "b" / "store" / "collector-name").read_text().strip()
    assert name_a != name_b

    def through_b(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([BIN / "chronolog", "--url", url_b, "--token-file", fleet.investigator_token,
                               "audit", *args], capture_output=True, text=True)

    def entries_through_b() -> list[dict[str, Any]]:
        result = through_b("--json")
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]

    assert fleet.admin("tenant", "create", "city").returncode == 0
    planned = fleet.admin("retention", "set", "--tenant", "city", "30")  # a dry run, through A
    assert planned.returncode == 0, planned.stderr

    def from_a() -> list[dict[str, Any]]:
        return [e for e in entries_through_b() if e["action"] == "retention.set"]

    [entry] = wait_for(from_a, "A's retention entry to be read through B", 30)
    assert (entry["collector"], entry["tenant"], entry["outcome"]) == (name_a, "city", "dry_run")
    assert "n" not in entry and "sig" not in entry  # an investigator's view, as on one collector
    # B's own entries (the reads just made) are there too, tagged with B.
    assert any(e["collector"] == name_b and e["action"] == "audit.read" for e in entries_through_b())
    text = through_b()
    assert f" collector={name_a} root (admin) retention.set tenant=city dry_run " in text.stdout
    intact = through_b("--verify")
    assert intact.returncode == 0 and "audit trail intact" in intact.stdout, intact.stdout + intact.stderr

    def altered(lines: list[bytes]) -> list[bytes]:
        return [line.replace(b'"outcome":"dry_run"', b'"outcome":"done"') for line in lines]

    asyncio.run(rewrite(nats_cluster.urls, f"chronolog.audit.{name_a}", altered))
    found = through_b("--verify")
    assert found.returncode == 1 and "audit trail ALTERED" in found.stdout
    assert (f"rewritten: collector {name_a} (cluster copy): an entry of tenant city: it was altered "
            "after it was written") in found.stdout
    findings = found.stdout.split("audit trail ALTERED:\n", 1)[1].splitlines()
    assert findings and all(f"collector {name_a} (cluster copy)" in f for f in findings)  # B's are intact
    # Through A, an administrator of every tenant: its file no longer begins with its copy.
    through_a = fleet.chronolog("--session-file", fleet.session_file, "audit", "--verify")
    assert through_a.returncode == 1, through_a.stderr
    assert f"rewritten: collector {name_a}: line " in through_a.stdout
    assert ": it differs from the cluster's copy of it" in through_a.stdout
