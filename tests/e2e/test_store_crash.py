"""SIGKILL of the collector during sustained ingest, again and again: after each restart every
acknowledged line is there exactly once, and `chronolog admin verify` finds the store clean."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from support.fleet import Fleet
from support.processes import Daemon, wait_for
from support.pusher import Pusher

# Small, fast segments so that kills land during seals as well as during appends.
STORE = "[collector.store]\nsegment_max_bytes = 262144\nsegment_max_age = 0.3\nblock_bytes = 65536\n"
ROUNDS = 6


def stored(fleet: Fleet) -> Counter[tuple[str, int]]:
    """(stream, seq) of every line the query API returns, with how often each comes back."""
    params = urllib.parse.urlencode({"since": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z",
                                     "limit": "1000000", "zone": "UTC"})
    token = fleet.investigator_token.read_text().strip()
    request = urllib.request.Request(f"{fleet.url}/v1/query?{params}",
                                     headers={"Authorization": f"Bearer {token}"})
    seen: Counter[tuple[str, int]] = Counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        for raw in response:
            record = json.loads(raw)
            if "summary" not in record:
                seen[(record["stream"], record["seq"])] += 1
    return seen


def children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (the collector's sealer and its helpers)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_repeated_sigkill_during_ingest_loses_and_doubles_nothing(
        tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> None:
    fleet = Fleet(tmp_path, daemons, extra_config=STORE)
    pusher = Pusher(fleet.url, fleet.agent_token)
    pusher.start()
    segments = tmp_path / "store" / "tenants" / "city" / "segments"
    try:
        for round_ in range(ROUNDS):
            before = pusher.total
            wait_for(lambda before=before: pusher.total >= before + 3000 or pusher.error,
                     f"round {round_}: 3000 more lines acknowledged", timeout=120)
            assert pusher.error is None, pusher.error
            assert fleet.collector.proc is not None
            helpers = children(fleet.collector.proc.pid)
            fleet.collector.kill()
            wait_for(lambda helpers=helpers: not any(alive(p) for p in helpers),
                     "the killed collector's sealer process to leave", timeout=20)
            acked = dict(pusher.acked)  # nothing more can be acknowledged while it is down
            fleet.collector.start()
            seen = stored(fleet)
            missing = [(s, q) for s, n in acked.items() for q in range(n) if seen[(s, q)] == 0]
            assert not missing, f"round {round_}: {len(missing)} acknowledged lines lost, e.g. {missing[:3]}"
            doubled = [k for k, n in seen.items() if n > 1]
            assert not doubled, f"round {round_}: lines stored twice, e.g. {doubled[:3]}"
    finally:
        pusher.stop.set()
        pusher.join(timeout=60)
    assert pusher.error is None, pusher.error
    assert any(segments.glob("seg-*.cls")), "nothing was ever sealed: the test did not exercise sealing"
    verify = fleet.admin("verify", "--tenant", "city")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "clean" in verify.stdout
    log = fleet.collector.log.read_text()
    assert "Traceback" not in log and "stored data damaged" not in log
