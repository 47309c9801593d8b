"""The audit trail through the real commands: an investigator's reads are in it and it sees
them; an administrator verifies the chain; lines swapped in the file while the collector is
stopped are named by `chronolog audit --verify` and raise the metric at start; a guarded
operation done while the collector was stopped (a master key rotation) is counted at start,
and the administrator still logs in afterwards (the rotation re-wraps TOTP secrets too)."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from pathlib import Path

from support.fleet import Fleet
from support.processes import Daemon


def metric(fleet: Fleet, line_start: str) -> float:
    with urllib.request.urlopen(fleet.collector.info["metrics"], timeout=10) as response:
        text = response.read().decode()
    return float(next(x for x in text.splitlines() if x.startswith(line_start)).split()[-1])


def test_reads_are_audited_verified_and_tampering_is_named(
        tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> None:
    fleet = Fleet(tmp_path, daemons)
    fleet.query("--since", "2026-11-27 00:00", "--until", "2026-11-28 00:00", "--host", "web-1")
    mine = fleet.cli("audit")
    assert " investigator (investigator) query tenant=city done " in mine and '"host":["web-1"]' in mine
    assert fleet.admin("keys", "list", "--tenant", "city").returncode == 1  # no tenant yet: refused
    intact = fleet.chronolog("--session-file", fleet.session_file, "audit", "--verify")
    assert intact.returncode == 0 and "audit trail intact" in intact.stdout, intact.stderr
    assert " root (admin) keys.list tenant=city refused " in intact.stdout

    fleet.collector.stop()
    trail = tmp_path / "store" / "audit.log"
    lines = trail.read_bytes().split(b"\n")[:-1]
    lines[1], lines[2] = lines[2], lines[1]
    trail.write_bytes(b"".join(x + b"\n" for x in lines))
    rotated = fleet.local("keys", "rotate-master")  # a guarded operation, done while stopped
    current = rotated.stderr.rsplit("--confirm ", 1)[1].strip()
    assert fleet.local("keys", "rotate-master", "--confirm", current).returncode == 0
    fleet.collector.start()
    fleet.login()  # sessions end with the collector

    assert metric(fleet, "chronolog_collector_audit_trail_findings ") >= 1
    done = 'chronolog_collector_guarded_operations_total{operation="keys.rotate_master",outcome="done"} '
    assert metric(fleet, done) == 1
    altered = fleet.chronolog("--session-file", fleet.session_file, "audit", "--verify")
    assert altered.returncode == 1 and "audit trail ALTERED" in altered.stdout
    assert "reordered: entry 2 (line 3): it comes after entry 3 (line 2)" in altered.stdout
    investigator = fleet.chronolog("--token-file", fleet.investigator_token, "audit", "--verify")
    assert investigator.returncode == 1
    assert "reordered: an entry of tenant city: it was moved out of its place" in investigator.stdout
