"""Three hosts and a collector on loopback, as in an incident: each agent logs in its own source
zone, all audit one real chronyd (the collector audits its own clock against it too), and one
agent runs under libfaketime with its clock 3 s ahead. The collector expects a fourth host that
never starts, and calls a host silent after 3 s (agents send a heartbeat every second).

`three_hosts` in tests/e2e/conftest.py makes one for a test."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.fleet import AgentHandle, Fleet, MakeDaemon
from support.ntp import FAKETIME_LIB

AHEAD_SECONDS = 3.0
# host -> the zone its log lines are written in (without an offset) and its clock's error
HOSTS = {"web-1": ("Asia/Tokyo", 0.0), "web-2": ("UTC", 0.0), "db-1": ("America/New_York", AHEAD_SECONDS)}
AHEAD_HOST = "db-1"
NEVER_STARTED = "db-2"
SILENT_AFTER = 3.0


@dataclass
class Incident:
    fleet: Fleet
    agents: dict[str, AgentHandle]
    chronyd: int  # the NTP server's port

    def hosts(self, *args: str) -> tuple[int, dict[str, Any]]:
        """``chronolog hosts --json`` as an investigator: exit status and document."""
        result = self.fleet.chronolog("--token-file", str(self.fleet.investigator_token), "hosts", "--json",
                                      *args)
        assert result.returncode in (0, 3), result.stderr
        return result.returncode, json.loads(result.stdout)

    def host(self, name: str) -> dict[str, Any]:
        [found] = [h for h in self.hosts()[1]["hosts"] if h["host"] == name]
        return found


def fleet_config(chronyd: int) -> str:
    # web-2 is not in the inventory: once stopped it stays silent (an expected one goes on to missing).
    return (f"[collector.fleet]\nsilent_after = {SILENT_AFTER}\nmissing_after = 6.0\nsave_interval = 1.0\n"
            f'[collector.fleet.clock]\nservers = ["127.0.0.1:{chronyd}"]\n'
            "burst = 1\ninterval = 16\ntimeout = 1\n"
            f'[[collector.fleet.expected]]\ntenant = "city"\n'
            f'hosts = ["web-1", "{AHEAD_HOST}", "{NEVER_STARTED}"]\n')


def agent_clock(chronyd: int) -> str:
    return (f'[agent.clock]\nservers = ["127.0.0.1:{chronyd}"]\nburst = 1\ninterval = 16\ntimeout = 1\n'
            'heartbeat = 1.0\n[agent.clock.daemon]\nread = "none"\n')


def start_incident(root: Path, daemons: MakeDaemon, chronyd: int) -> Incident:
    fleet = Fleet(root, daemons, fleet_config=fleet_config(chronyd))
    agents = {}
    for host, (zone, ahead) in HOSTS.items():
        files = f'[[agent.files]]\ninclude = ["{root / host / "app.log"}"]\nzone = "{zone}"\n'
        env = {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": f"+{ahead:g}", "FAKETIME_DONT_FAKE_MONOTONIC": "1"} \
            if ahead else None
        agents[host] = fleet.agent(host, clock=agent_clock(chronyd), files=files, env=env)
    return Incident(fleet, agents, chronyd)
