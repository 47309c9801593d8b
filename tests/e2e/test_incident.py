"""A scripted incident on three real hosts: lines 200 ms apart on web-1, web-2 and db-1, whose
clock runs 3 s ahead (its agent under libfaketime, auditing a real chronyd on loopback, as the
others). By event time as stamped, db-1's lines come late; ``--order corrected`` puts every
line back in true order, each with its error bound; a window ending just after the incident
still holds db-1's lines. The commands of docs/query.md are run here as written."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.fleet import Fleet
from support.processes import BIN, Daemon, wait_for

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
AHEAD = 3.0
HOSTS = ("web-1", "web-2", "db-1")
ROOT = Path(__file__).resolve().parents[2]


def clock(chronyd: int) -> str:
    return (f'[agent.clock]\nservers = ["127.0.0.1:{chronyd}"]\nburst = 1\ninterval = 16\ntimeout = 1\n'
            '[agent.clock.daemon]\nread = "none"\n')


def stamp(host: str) -> str:
    """The time now by ``host``'s clock, as a program on it would write it (db-1's through
    libfaketime, like its agent)."""
    if host != "db-1":
        return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    env = {**os.environ, "LD_PRELOAD": FAKETIME_LIB, "FAKETIME": f"+{AHEAD:g}"}
    return subprocess.run(["date", "-u", "+%Y-%m-%dT%H:%M:%S.%3N+00:00"], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.fixture
def incident(tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon], chronyd: int,
             require_program: Callable[[str, str], str]) -> tuple[Fleet, list[str], float]:
    require_program("faketime", "faketime")
    fleet = Fleet(tmp_path, daemons)
    agents = {}
    for host in HOSTS:
        env = ({"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": f"+{AHEAD:g}", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
               if host == "db-1" else None)
        agents[host] = fleet.agent(host, clock=clock(chronyd), env=env)
    # Each agent's first audit is in the store (db-1's says +3 s) before the incident begins.
    wait_for(lambda: len(samples(fleet)) == 3, "a clock sample from every host", timeout=60)
    written = []
    for i in range(6):
        host = HOSTS[i % 3]
        text = f"incident {i} on {host}"
        agents[host].write(f"{stamp(host)} {text}")
        written.append(text)
        time.sleep(0.2)
    ended = time.time()  # every line written; db-1's were stamped 3 s ahead of this
    wait_for(lambda: len(fleet.messages("--grep", "incident")) == 6, "the incident's lines at the collector")
    return fleet, written, ended


def samples(fleet: Fleet) -> dict[str, float]:
    """Each host's latest audited clock offset, from its clock stream."""
    found = {}
    for r in fleet.records("--stream", "clock"):
        if r["fields"].get("kind") == "sample" and r["fields"].get("offset") is not None:
            found[r["host"]] = float(r["fields"]["offset"])
    return found


def query(fleet: Fleet, *args: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in fleet.query(*args, "--format", "json").splitlines()]


def test_corrected_order_gives_the_true_order_with_each_lines_error_bound(
        incident: tuple[Fleet, list[str], float]) -> None:
    fleet, written, _ = incident
    assert abs(samples(fleet)["db-1"] - AHEAD) < 0.05  # the agent measured its own skew
    stamped = query(fleet, "--since", "15m", "--grep", "incident")
    assert [r["msg"].split(" ", 1)[1] for r in stamped] != written  # as stamped, db-1 comes late
    corrected = query(fleet, "--since", "15m", "--grep", "incident", "--order", "corrected")
    assert [r["msg"].split(" ", 1)[1] for r in corrected] == written
    for r in corrected:
        assert r["correction"] == "clock_stream" and r["error_bound"] < 0.05
        assert "order_undecidable" not in r["flags"]
        stamped_at, corrected_at = (dt.datetime.fromisoformat(r[k]) for k in ("ts", "corrected"))
        shift = (stamped_at - corrected_at).total_seconds()
        assert abs(shift - (AHEAD if r["host"] == "db-1" else 0.0)) < 0.05
    assert all("clock_over_budget" in r["flags"] for r in corrected if r["host"] == "db-1")


def test_a_window_ending_after_the_incident_keeps_the_host_whose_clock_is_ahead(
        incident: tuple[Fleet, list[str], float]) -> None:
    fleet, written, ended = incident
    # The window ends 1 s after the last line was written (by the true time), before db-1's last
    # stamp: only its clock's correction brings that line in (however slowly they were written).
    until = dt.datetime.fromtimestamp(ended + 1.0, dt.UTC).isoformat()
    since = dt.datetime.fromtimestamp(ended - 60, dt.UTC).isoformat()
    records = query(fleet, "--since", since, "--until", until, "--grep", "incident")
    assert sorted(r["msg"].split(" ", 1)[1] for r in records) == sorted(written)
    assert {r["host"] for r in records if "corrected_in_window" in r["flags"]} == {"db-1"}


def test_the_documented_commands_run_as_written(incident: tuple[Fleet, list[str], float]) -> None:
    fleet, _, _ = incident
    commands = re.findall(r"```sh\n(chronolog [^\n]+)\n```", (ROOT / "docs/query.md").read_text())
    assert len(commands) == 4
    env = {**os.environ, "CHRONOLOG_URL": fleet.url, "CHRONOLOG_TOKEN_FILE": str(fleet.investigator_token),
           "PATH": f"{BIN}:{os.environ['PATH']}"}
    outputs = {}
    for command in commands:
        result = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, cwd=fleet.root,
                                executable="/bin/bash", timeout=60)
        assert result.returncode == 0, (command, result.stderr)
        outputs[command] = result.stdout
    context = outputs[commands[1]].splitlines()
    assert any(" incident 3 on web-1" in x and "app.log:" in x for x in context)
    assert any("app.log-" in x for x in context)  # a context line, told apart as grep does
    assert "±" in outputs[commands[2]]
    assert "web-1" in outputs[commands[3]].splitlines()[0]  # the count's header names the hosts
