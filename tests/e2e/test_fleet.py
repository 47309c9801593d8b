"""The fleet end to end, on loopback: one collector, three agents as three hosts in three source
zones, all auditing a real chronyd, one of them under libfaketime 3 s ahead
(support/incident.py). `chronolog hosts` shows that host over budget with an offset near +3 s
both as its agent claims and as the collector cross-checks it; an expected host that never
started is missing; an agent stopped becomes silent, and a real Prometheus scraping the
collector with the shipped rules fires the silent-host alert."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.incident import AHEAD_HOST, AHEAD_SECONDS, NEVER_STARTED, Incident
from support.processes import wait_for
from support.prometheus import Prometheus


def settled(incident: Incident) -> dict[str, Any] | None:
    """The hosts document once every running host has a claim and a two-sided cross-check."""
    _, doc = incident.hosts()
    running = [h for h in doc["hosts"] if h["host"] in incident.agents]
    done = doc["collector"]["clock"]["status"] == "ok" and all(
        h["clock"]["status"] != "unknown" and h["crosscheck"].get("max") is not None for h in running)
    return doc if done else None


def test_the_host_3_s_ahead_is_over_budget_by_its_claim_and_by_the_cross_check(three_hosts: Incident) -> None:
    doc = wait_for(lambda: settled(three_hosts), "every host's claim and cross-check", timeout=60)
    hosts = {h["host"]: h for h in doc["hosts"]}
    ahead = hosts[AHEAD_HOST]
    assert ahead["state"] == "reporting" and ahead["clock"]["status"] == "over_budget"
    assert ahead["clock"]["offset"] == pytest.approx(AHEAD_SECONDS, abs=0.05)  # its agent's audit
    check = ahead["crosscheck"]
    assert check["status"] == "over_budget" and check["offset"] == pytest.approx(AHEAD_SECONDS, abs=0.05)
    assert check["min"] - 0.01 <= AHEAD_SECONDS <= check["max"] + 0.01  # the interval holds the truth
    assert ahead["disagreement"] == 0.0  # claim and cross-check tell the same story
    assert ahead["problems"] == ["clock over budget", "cross-check over budget"]
    for name in ("web-1", "web-2"):
        host = hosts[name]
        assert host["clock"]["status"] == "ok" and host["crosscheck"]["status"] == "ok", host
        assert abs(host["crosscheck"]["offset"]) < 0.05 and host["problems"] == []
    missing = hosts[NEVER_STARTED]
    assert (missing["state"], missing["expected"], missing["last_seen"]) == ("missing", True, None)
    assert not hosts["web-2"]["expected"]
    # As the investigator types it: a table, and exit 3 for the problems it lists.
    table = three_hosts.fleet.chronolog("--token-file", str(three_hosts.fleet.investigator_token), "hosts")
    assert table.returncode == 3, table.stderr
    [row] = [line for line in table.stdout.splitlines() if line.startswith(AHEAD_HOST + " ")]
    assert row.split()[1] == "reporting" and "over_budget" in row and "+3.00" in row
    assert f"# {AHEAD_HOST}: clock over budget, cross-check over budget" in table.stdout
    assert f"# {NEVER_STARTED}: missing, clock unknown" in table.stdout
    streams = three_hosts.fleet.streams()
    assert {(s["host"], s["stream"]) for s in streams} >= {(h, "clock") for h in three_hosts.agents}


def test_a_stopped_agent_goes_silent_and_a_real_prometheus_fires_the_alert(
        three_hosts: Incident, tmp_path: Path, require_program: Callable[[str, str], str]) -> None:
    fleet = three_hosts.fleet
    prometheus = Prometheus(require_program("prometheus", "prometheus"), tmp_path / "prometheus",
                            {"chronolog-collector": fleet.collector.info["metrics"]})
    try:
        wait_for(lambda: three_hosts.host("web-2")["state"] == "reporting", "web-2 to report")
        three_hosts.agents["web-2"].daemon.stop()
        [alert] = wait_for(lambda: prometheus.firing("ChronologHostSilent"), "the silent-host alert",
                           timeout=60)
        assert alert["host"] == "web-2" and alert["severity"] == "warning"
        assert alert["tenant"] == three_hosts.hosts()[1]["tenant_id"]  # the opaque id, not "city"
        assert three_hosts.host("web-2")["state"] == "silent"
        missing = wait_for(lambda: prometheus.firing("ChronologHostMissing"), "the missing-host alert")
        assert [a["host"] for a in missing] == [NEVER_STARTED]
    finally:
        prometheus.stop()
