"""Evidence export end to end: a real collector, two real agents auditing a real chronyd (their
clock records shipped as the stream ``clock``), driven by the commands of docs/evidence.md
exactly as written. The bundle verifies offline; a changed line, a removed line, a reordered
line and a changed clock record are each named by `chronolog verify-export`."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.fleet import Fleet
from support.processes import BIN, Daemon, wait_for

from chronolog.timefmt import now_us, to_rfc3339
from collector.fleet.state import CROSSCHECK_STATES

ROOT = Path(__file__).resolve().parents[2]


def documented_commands() -> list[str]:
    """The commands of docs/evidence.md's "Exporting and checking", as written."""
    text = (ROOT / "docs" / "evidence.md").read_text()
    section = text.split("## Exporting and checking", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line for line in section.strip().splitlines() if line.startswith("chronolog ")]


def clock_config(port: int) -> str:
    return (f'[agent.clock]\nservers = ["127.0.0.1:{port}"]\nburst = 1\ninterval = 16\ntimeout = 1\n'
            '[agent.clock.daemon]\nread = "none"\n')


def clock_records(fleet: Fleet, host: str) -> list[dict[str, Any]]:
    out = fleet.query("--since", "1h", "--until", to_rfc3339(now_us() + 3600 * 10**6, "UTC"), "--json",
                      "--host", host)
    return [r for r in map(json.loads, out.splitlines()) if r["stream"] == "clock"]


@pytest.fixture
def incident(tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon], chronyd: int) -> Fleet:
    """Two hosts with a few failed logins among other lines, each host's clock audited before
    them (as on a host that ran before the incident: a line older than its host's first audit
    sample has a clock the evidence cannot vouch for, and a loaded machine can delay that first
    sample past the lines)."""
    fleet = Fleet(tmp_path, daemons)
    web1 = fleet.agent("web-1", clock=clock_config(chronyd))
    web2 = fleet.agent("web-2", clock=clock_config(chronyd))
    for host in ("web-1", "web-2"):
        wait_for(lambda host=host: any(r["fields"].get("kind") == "sample"
                                       for r in clock_records(fleet, host)), f"a clock sample of {host}")
    for n, agent in enumerate((web1, web2)):
        agent.write(*(f"{to_rfc3339(now_us(), 'UTC')} {'login failed' if i % 3 == 0 else 'GET /'} "
                      f"user={n}-{i}" for i in range(12)))
    wait_for(lambda: len(fleet.messages("--grep", "login failed")) == 8, "the failed logins")
    fleet.login()
    return fleet


def run(fleet: Fleet, command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A documented command exactly as written, with the environment a user sets once."""
    argv = shlex.split(command)
    env = {**os.environ, "CHRONOLOG_URL": fleet.url, "CHRONOLOG_TOKEN_FILE": str(fleet.investigator_token),
           "CHRONOLOG_SESSION_FILE": str(fleet.session_file)}
    return subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True)


def verify(fleet: Fleet, bundle: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run(fleet, f"chronolog verify-export {bundle} --key collector-checkpoint.json", cwd)


def test_an_export_verifies_offline_and_every_tampering_is_named(incident: Fleet, tmp_path: Path) -> None:
    fleet = incident
    export, checkpoint, check = documented_commands()
    exported = run(fleet, export, tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert re.search(r"# 8 lines and \d+ clock records of 2 hosts written to incident.evidence",
                     exported.stderr)
    assert run(fleet, checkpoint, tmp_path).returncode == 0
    fleet.collector.stop()  # offline: nothing but the file and the key

    clean = run(fleet, check, tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    out = clean.stdout
    assert "records: 8 lines and" in out and "0 unproven" in out
    assert "the chain passes through your checkpoint" in out
    for host in ("web-1", "web-2"):
        # Each host's clock, from the lines and from its audit samples against chronyd.
        assert re.search(rf"  {host}: within budget for all 4 lines \(offset [-+]\d", out), out
    assert re.search(r"\d+ audit samples? from", out) and out.rstrip().endswith("in its place")

    lines = (tmp_path / "incident.evidence").read_bytes().split(b"\n")
    manifest = json.loads(lines[0])
    matches = manifest["records"]["matches"]
    assert matches == 8 and manifest["records"]["clock"] >= 2
    # The collector's own cross-check of each host clock, as the fleet view has it at export.
    cross = manifest["cross_check"]
    assert cross["available"] and set(cross["hosts"]) == {"web-1", "web-2"}
    assert all(h["status"] in CROSSCHECK_STATES and h["exchanges"] >= 1 for h in cross["hosts"].values())
    records = [json.loads(x) for x in lines[2:-2]]
    assert all("login failed" in r["msg"] for r in records[:matches])
    first_clock = matches + 2  # the bundle line index of the first clock record

    def tampered(name: str, parts: list[bytes]) -> str:
        path = tmp_path / name
        path.write_bytes(b"\n".join(parts))
        result = verify(fleet, path, tmp_path)
        assert result.returncode == 1, result.stdout
        return result.stdout

    changed = list(lines)
    changed[3] = changed[3].replace(b"login failed", b"login worked")
    assert re.search(r"^changed: line 4: it is not record 2 as exported \(now: line of host web-",
                     tampered("changed.evidence", changed), re.M)

    removed = lines[:4] + lines[5:]
    assert re.search(r"^removed: record 3: record 3 of \d+ \(leaf hash [0-9a-f]{16}…\) is not in the bundle",
                     tampered("removed.evidence", removed), re.M)

    reordered = list(lines)
    reordered[5], reordered[6] = reordered[6], reordered[5]
    assert re.search(r"^reordered: line [67]: it holds record [45] of the export",
                     tampered("reordered.evidence", reordered), re.M)

    clock = list(lines)
    record = json.loads(clock[first_clock])
    record["msg"] = record["msg"] + " (edited)"
    clock[first_clock] = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
    assert re.search(rf"^changed: line {first_clock + 1}: it is not record {matches + 1} as exported "
                     r"\(now: clock record of host web-", tampered("clock.evidence", clock), re.M)


def test_each_export_is_in_the_audit_trail(incident: Fleet, tmp_path: Path) -> None:
    fleet = incident
    bundle = tmp_path / "case.evidence"
    result = fleet.chronolog("--token-file", fleet.investigator_token, "export", "--since", "1h",
                             "--grep", "login failed", "--out", bundle)
    assert result.returncode == 0, result.stderr
    again = fleet.chronolog("--token-file", fleet.investigator_token, "export", "--since", "1h",
                            "--out", bundle)
    assert again.returncode == 1 and "already exists" in again.stderr
    audit = fleet.chronolog("--token-file", fleet.investigator_token, "audit", "--json")
    assert audit.returncode == 0, audit.stderr
    [entry] = [e for e in map(json.loads, audit.stdout.splitlines()) if e.get("action") == "export"]
    assert (entry["name"], entry["tenant"], entry["outcome"]) == ("investigator", "city", "done")
    assert entry["details"]["lines"] == 8 and entry["details"]["params"]["grep"] == ["login failed"]
    assert entry["details"]["sha256"] == hashlib.sha256(bundle.read_bytes()).hexdigest()
