"""Every start of a real collector writes its configuration's digest and changes into the audit
trail, and a change that widens exposure is named, counted and kept counted across restarts;
an agent ships its own start record to the collector (issue 16, seed #6)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.admins import enrol
from support.fleet import Fleet
from support.processes import Daemon, wait_for


def config_entries(fleet: Fleet) -> list[dict[str, Any]]:
    lines = (fleet.root / "store" / "audit.log").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["action"] == "config"]


def widened_metric(fleet: Fleet, setting: str) -> float:
    with urllib.request.urlopen(fleet.collector.info["metrics"], timeout=10) as response:
        text = response.read().decode()
    prefix = f'chronolog_collector_config_exposure_widened_total{{setting="{setting}"}} '
    return sum(float(line.removeprefix(prefix)) for line in text.splitlines() if line.startswith(prefix))


def restart_with(fleet: Fleet, change: Callable[[str], str]) -> None:
    assert fleet.collector.stop() == 0
    fleet.config.write_text(change(fleet.config.read_text()))
    fleet.collector.start()


def test_each_start_is_audited_and_a_widening_change_is_named_and_counted(
        tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> None:
    fleet = Fleet(tmp_path, daemons)
    [first] = config_entries(fleet)
    assert first["outcome"] == "first" and first["details"]["changes"] == []
    assert first["details"]["config"]["collector"]["api"]["max_requests"] == 256  # defaults filled in

    restart_with(fleet, lambda t: t.replace('[collector.metrics]\nlisten = "127.0.0.1:0"',
                                            '[collector.metrics]\nlisten = "0.0.0.0:0"')
                 + "[collector.store]\nretention_days = 30\n")
    enrol(fleet.config, "eve", "*")  # a new administrator of every tenant, made while running
    *_, second = config_entries(fleet)
    assert second["outcome"] == "widened" and second["details"]["previous"] == first["details"]["digest"]
    assert {w["setting"]: (w["before"], w["after"]) for w in second["details"]["widened"]} == {
        "collector.metrics.listen": ("127.0.0.1:0", "0.0.0.0:0"), "collector.store.retention_days": (0, 30)}
    assert widened_metric(fleet, "collector.metrics.listen") == 1

    restart_with(fleet, lambda t: t)
    *_, third = config_entries(fleet)
    assert third["outcome"] == "widened"
    assert [w["setting"] for w in third["details"]["widened"]] == ["access.admins.eve"]
    # Counted from the trail: the earlier start's change still counts after this restart.
    assert widened_metric(fleet, "collector.metrics.listen") == 1
    assert widened_metric(fleet, "access.admins") == 1

    restart_with(fleet, lambda t: t)
    *_, fourth = config_entries(fleet)
    assert (fourth["outcome"], fourth["details"]["changes"]) == ("unchanged", [])
    assert fourth["details"]["digest"] == third["details"]["digest"]


def test_an_agent_ships_what_changed_in_its_configuration(
        tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> None:
    fleet = Fleet(tmp_path, daemons)
    agent = fleet.agent("web-1", record_config=True)
    wait_for(lambda: fleet.records("--host", "web-1"), "the agent's first config record")
    assert agent.daemon.stop() == 0
    config = agent.daemon.config
    config.write_text(config.read_text().replace('[agent.metrics]\nlisten = "127.0.0.1:0"',
                                                 '[agent.metrics]\nlisten = "0.0.0.0:0"'))
    agent.daemon.start()
    wait_for(lambda: len(fleet.records("--host", "web-1")) == 2, "the second config record")
    first, second = fleet.records("--host", "web-1")
    assert first["stream"] == second["stream"] == "config"
    assert first["msg"].startswith("config: first start") and first["fields"]["changes"] == []
    assert second["fields"]["previous"] == first["fields"]["digest"]
    assert second["fields"]["widened"] == [{
        "setting": "metrics.listen", "before": "127.0.0.1:0", "after": "0.0.0.0:0",
        "why": "the agent's metrics now listen beyond loopback"}]
    assert "widens exposure: the agent's metrics now listen beyond loopback" in second["msg"]
