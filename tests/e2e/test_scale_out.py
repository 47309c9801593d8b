"""Issue 14's acceptance: 3 NATS servers and 2 collectors on loopback, real processes. Agents
ship continuously; a NATS server is SIGKILLed and restarted, then a collector is SIGKILLed and
restarted. At the end every line written is stored exactly once, verify is clean, a query
through either collector returns the same records, and an evidence export through collector B
proves every line against collector A's checkpoint."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from support.fleet import AgentHandle, Fleet
from support.jetstream import jetstream_tables, second_collector
from support.nats import NatsCluster
from support.processes import BIN, Daemon, wait_for

ROUNDS = 4  # of lines per agent: before the kills, with a server down, with a collector down, after
PER_ROUND = 300


@pytest.fixture
def nats(tmp_path: Path) -> NatsCluster:
    cluster = NatsCluster(tmp_path / "nats").start()
    yield cluster  # type: ignore[misc]
    cluster.stop()


def query(url: str, token: Path) -> list[str]:
    """The messages a query of everything returns through the collector at ``url``, in order."""
    result = subprocess.run([BIN / "chronolog", "--url", url, "--token-file", token, "query", "--since",
                             "2000-01-01T00:00:00Z", "--format", "json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    return [r["msg"] for r in records if "msg" in r]


def answers(url: str, token: Path) -> str:
    """How a one-line query through the collector at ``url`` ends: "ok", or why it failed."""
    result = subprocess.run([BIN / "chronolog", "--url", url, "--token-file", token, "query", "--since", "1m",
                             "--limit", "1"], capture_output=True, text=True)
    return "ok" if result.returncode == 0 else result.stderr


def written(agent: AgentHandle, host: str, start: int) -> list[str]:
    lines = [f"{host} line {i:05d}" for i in range(start, start + PER_ROUND)]
    agent.write(*lines)
    return lines


def test_two_collectors_over_three_nats_servers_lose_and_double_nothing(
        tmp_path: Path, nats: NatsCluster, daemons: Callable[[str, Path, Path], Daemon]) -> None:
    (tmp_path / "a").mkdir()
    fleet = Fleet(tmp_path / "a", daemons, extra_config=jetstream_tables(nats))
    url_b = second_collector(fleet, tmp_path / "b", daemons)
    agents = {"web-1": fleet.agent("web-1"), "web-2": fleet.agent("web-2", url=url_b)}
    lines: list[str] = []

    def ship_a_round(k: int) -> None:
        for host, agent in agents.items():
            lines.extend(written(agent, host, k * PER_ROUND))

    def acked_everything() -> bool:
        return all(a.ledger(f"file:{a.log}")["acked"] == len(lines) // 2 for a in agents.values())

    ship_a_round(0)
    wait_for(acked_everything, "the first round to be acknowledged", 60)
    ship_a_round(1)
    nats.kill(nats.nodes[0])  # SIGKILL, while the agents ship
    wait_for(acked_everything, "the agents to be acknowledged with one NATS server down", 120)
    nats.start_node(nats.nodes[0])
    fleet.collector.kill()  # SIGKILL: web-1's collector
    ship_a_round(2)
    wait_for(lambda: agents["web-2"].ledger(f"file:{agents['web-2'].log}")["acked"] == 3 * PER_ROUND,
             "web-2 to be acknowledged by collector B")
    fleet.collector.start()
    ship_a_round(3)
    wait_for(acked_everything, "every line to be acknowledged", 120)

    want = sorted(lines)
    assert len(want) == 2 * ROUNDS * PER_ROUND
    for url in (fleet.url, url_b):
        messages = Counter(query(url, fleet.investigator_token))
        assert sorted(messages) == want, f"through {url}"
        assert set(messages.values()) == {1}, f"a line stored twice, through {url}"
    # Every line sealed (segment_max_age), then verify: clean, and every line in a segment.
    def all_sealed() -> bool:
        result = fleet.admin("verify", "--json")
        assert result.returncode in (0, 1), result.stderr
        report = json.loads(result.stdout)["reports"][0]
        return bool(report["clean"] and report["wal_records"] == 0 and report["segments"] >= 1)

    wait_for(all_sealed, "every line to be sealed and verified clean", 120)
    assert query(fleet.url, fleet.investigator_token) == query(url_b, fleet.investigator_token)
    # Evidence of every line through collector B, checked offline against A's checkpoint.
    bundle, checkpoint = tmp_path / "all.evidence", tmp_path / "checkpoint.json"
    exported = subprocess.run([BIN / "chronolog", "--url", url_b, "--token-file", fleet.investigator_token,
                               "export", "--since", "2000-01-01T00:00:00Z", "--grep", "line",
                               "--out", bundle], capture_output=True, text=True)
    assert exported.returncode == 0, exported.stderr
    assert f"# {len(want)} lines and " in exported.stderr
    assert fleet.admin("checkpoint", "--tenant", "city", "-o", checkpoint).returncode == 0
    checked = subprocess.run([BIN / "chronolog", "verify-export", bundle, "--key", checkpoint],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # A token issued on A's host works through B; revoked there, B refuses it within seconds.
    late = fleet.issue_token("late", role="investigator")
    listing = fleet.local("credentials", "list").stdout
    [cid] = [line.split("\t")[0] for line in listing.splitlines() if "\tlate\t" in line]
    wait_for(lambda: answers(url_b, late) == "ok", "collector B to accept a token issued on A", 30)
    revoked = fleet.local("credentials", "revoke", cid, "--confirm", cid)
    assert revoked.returncode == 0, revoked.stderr
    wait_for(lambda: "unauthenticated" in answers(url_b, late), "B to refuse a token revoked on A", 30)
    # The collector reports its store and the cluster's health, all servers back.
    def metrics() -> str:
        with urllib.request.urlopen(fleet.collector.info["metrics"], timeout=10) as response:
            return str(response.read().decode())

    assert 'chronolog_collector_store_info{backend="jetstream",location="JP/Tokyo"} 1.0' in metrics()
    wait_for(lambda: 'chronolog_nats_streams_without_quorum{kind="wal"} 0.0' in metrics()
             and 'chronolog_nats_streams{kind="segments"} 1.0' in metrics(), "the cluster's health")
