"""Tamper evidence through the real commands: an exported checkpoint, a flipped byte found by
`chronolog admin verify` and by the offline `chronolog-collector verify`, and the alert metric."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

from support.fleet import Fleet
from support.processes import Daemon, wait_for
from support.pusher import Pusher


def test_a_flipped_byte_is_reported_by_every_verify_and_raises_the_metric(
        tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> None:
    fleet = Fleet(tmp_path, daemons, extra_config="[collector.store]\nsegment_max_age = 0.3\n")
    pusher = Pusher(fleet.url, fleet.agent_token, streams=2, lines=200)
    pusher.start()
    wait_for(lambda: pusher.total >= 2000, "2000 lines acknowledged")
    pusher.stop.set()
    pusher.join(timeout=60)
    segments = tmp_path / "store/tenants/city/segments"
    wait_for(lambda: fleet.admin("checkpoint", "--tenant", "city").returncode == 0, "a first seal")
    wait_for(lambda: not any((tmp_path / "store/tenants/city/wal").glob("wal-*.log")), "everything sealed")
    exported = tmp_path / "checkpoint.json"
    assert fleet.admin("checkpoint", "--tenant", "city", "-o", exported).returncode == 0
    assert json.loads(exported.read_text())["tenant"] == "city"
    clean = fleet.admin("verify", "--tenant", "city", "--checkpoint", exported)
    assert clean.returncode == 0 and "clean" in clean.stdout, clean.stdout + clean.stderr
    busy = fleet.local("verify", "--tenant", "city")
    assert busy.returncode == 1 and "chronolog admin verify" in busy.stderr

    fleet.collector.stop()
    victim = sorted(segments.glob("seg-*.cls"))[0]
    data = bytearray(victim.read_bytes())
    data[-20] ^= 0x80
    victim.write_bytes(bytes(data))
    number = int(victim.stem.split("-")[1])
    offline = fleet.local("verify", "--tenant", "city")
    assert offline.returncode == 1 and f"rewritten: segment {number}: block" in offline.stdout, offline.stdout

    fleet.collector.start()
    online = fleet.admin("verify", "--checkpoint", exported)
    assert online.returncode == 1 and f"rewritten: segment {number}" in online.stdout
    with urllib.request.urlopen(fleet.collector.info["metrics"], timeout=10) as response:
        metrics = response.read().decode()
    findings = [line for line in metrics.splitlines()
                if line.startswith("chronolog_collector_verify_findings ")]
    assert findings and float(findings[0].split()[-1]) >= 1
    assert "city" not in metrics  # no tenant's name: the fleet's series carry an opaque id (#6)
