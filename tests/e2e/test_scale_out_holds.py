"""Legal holds and retention through two real collectors over a real 3-node NATS cluster,
with the documented commands (docs/scale-out.md, docs/admin.md): the administrator enrolled on
collector A's host signs in on B (accounts are shared through the cluster); a hold placed
through A is listed, shown and honoured by B, and released there for both. The
expiry itself is checked with a given ``now`` in tests/collector/test_jetstream_retention.py
(segments sealed in a test are never days old)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.admins import PASSWORD
from support.fleet import Fleet
from support.jetstream import jetstream_tables, second_collector
from support.nats import NatsCluster
from support.processes import BIN, Daemon, wait_for


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsCluster]:
    cluster = NatsCluster(tmp_path / "nats").start()
    yield cluster
    cluster.stop()


def test_a_hold_placed_through_one_collector_is_honoured_by_the_other(
        tmp_path: Path, nats: NatsCluster, daemons: Callable[[str, Path, Path], Daemon]) -> None:
    (tmp_path / "a").mkdir()
    fleet = Fleet(tmp_path / "a", daemons, extra_config=jetstream_tables(nats))
    fleet.login()  # enrols root in A's admins.json: B learns of it through the cluster
    url_b = second_collector(fleet, tmp_path / "b", daemons, copied=())
    session_b = tmp_path / "b.session"

    def through_b(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([BIN / "chronolog", "--url", url_b, "--session-file", session_b, *args],
                              input=PASSWORD + "\n", capture_output=True, text=True)

    def on_b(*args: str) -> subprocess.CompletedProcess[str]:
        return through_b("admin", *args)

    authenticator = fleet.authenticator
    assert authenticator is not None
    used_on_a = authenticator.used

    def b_knows_roots_last_code() -> bool:
        try:
            docs = json.loads((tmp_path / "b" / "store" / "admins.json").read_text())["admins"]
        except FileNotFoundError:
            return False
        return any(d["name"] == "root" and d["state"]["last_step"] >= used_on_a for d in docs)

    wait_for(b_knows_roots_last_code, "B to take in root's account and the code A accepted", 30)
    # The code A accepted is a replay on B; a new one signs in.
    replayed = on_b("login", "--user", "root", "--password-stdin", "--totp", authenticator.code_at(used_on_a))
    assert replayed.returncode != 0
    logged_in = on_b("login", "--user", "root", "--password-stdin", "--totp", authenticator.code())
    assert logged_in.returncode == 0, logged_in.stderr

    agent = fleet.agent("web-1")
    agent.write(*[f"web-1 line {i}" for i in range(20)])

    def sealed() -> bool:
        reports = json.loads(on_b("verify", "--json").stdout)["reports"]  # none before the first line
        return any(r["clean"] and r["segments"] >= 1 and r["wal_records"] == 0 for r in reports)

    wait_for(sealed, "the lines to be sealed and verified clean through B", 120)

    placed = fleet.admin("hold", "add", "--tenant", "city", "--reason", "case 42")
    assert placed.returncode == 0, placed.stderr
    hold_id = placed.stdout.split(":", 1)[0].removeprefix("hold ")
    listed = on_b("hold", "list", "--tenant", "city")
    assert listed.returncode == 0, listed.stderr
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == [hold_id]
    assert listed.stdout.rstrip().endswith("\tactive\tcase 42")
    shown = on_b("retention", "show", "--tenant", "city")
    assert f"  held: {hold_id} " in shown.stdout and "case 42" in shown.stdout
    # B refuses to erase a tenant held through A: the dry run says so, and so does the erase.
    plan = on_b("erase-tenant", "city")
    assert f"refused while 1 legal hold(s) stand: {hold_id}" in plan.stdout
    refused = on_b("erase-tenant", "city", "--confirm", "city")
    assert refused.returncode != 0 and "legal hold" in refused.stderr

    # A retention set through B is A's too.
    assert on_b("retention", "set", "--tenant", "city", "30", "--confirm", "city").returncode == 0
    assert "tenant city: retention 30 days" in fleet.admin("retention", "show", "--tenant", "city").stdout

    released = on_b("hold", "release", "--tenant", "city", hold_id, "--confirm", "city")
    assert released.returncode == 0, released.stderr
    assert released.stdout.strip() == f"released hold {hold_id}"
    assert fleet.admin("hold", "list", "--tenant", "city").stdout == ""
    history = fleet.admin("hold", "list", "--tenant", "city", "--all").stdout
    assert f"{hold_id}\t" in history and "by root" in history
    # Each collector audited what it was asked; each answers for both, naming which.
    name_a, name_b = ((tmp_path / x / "store" / "collector-name").read_text().strip() for x in ("a", "b"))

    def holds_audited(result: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
        assert result.returncode == 0, result.stderr
        entries = [json.loads(line) for line in result.stdout.splitlines()]
        return [(e["action"], e["collector"]) for e in entries if e["action"] in ("hold.add", "hold.release")]

    want = [("hold.add", name_a), ("hold.release", name_b)]
    wait_for(lambda: holds_audited(through_b("audit", "--json")) == want, "B to read A's hold.add", 30)
    wait_for(lambda: holds_audited(fleet.chronolog("--session-file", fleet.session_file, "audit", "--json"))
             == want, "A to read B's hold.release", 30)
