"""Backup archives through two real collectors over a real 3-node NATS cluster, with the
documented commands (docs/scale-out.md, docs/admin.md): lines shipped to collector A are
backed up through B; `chronolog-collector verify --backup` on a collector's host checks the
archive with the cluster's keys; restore refuses the cluster backend; after an erase through
A the disposal report lists the archive and the archive opens to nobody."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.admins import PASSWORD
from support.docs import ROOT, commands
from support.fleet import Fleet
from support.jetstream import jetstream_tables, second_collector
from support.nats import NatsCluster
from support.processes import BIN, Daemon, wait_for


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsCluster]:
    cluster = NatsCluster(tmp_path / "nats").start()
    yield cluster
    cluster.stop()


def documented_verify(fleet: Fleet, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """docs/scale-out.md's archive check, exactly as written, beside A's configuration and the
    archive (city.tar) under the names it uses."""
    [command] = [c.text for c in commands(ROOT / "docs" / "scale-out.md") if "--backup" in c.text]
    shutil.copyfile(fleet.config, tmp_path / "collector.toml")
    return subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"})


def test_a_backup_through_one_collector_verifies_and_dies_with_the_tenant(
        tmp_path: Path, nats: NatsCluster, daemons: Callable[[str, Path, Path], Daemon]) -> None:
    (tmp_path / "a").mkdir()
    fleet = Fleet(tmp_path / "a", daemons, extra_config=jetstream_tables(nats))
    fleet.login()
    url_b = second_collector(fleet, tmp_path / "b", daemons, copied=())
    session_b = tmp_path / "b.session"
    authenticator = fleet.authenticator
    assert authenticator is not None

    def on_b(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([BIN / "chronolog", "--url", url_b, "--session-file", session_b, "admin",
                               *args], input=PASSWORD + "\n", capture_output=True, text=True)

    def b_knows_root() -> bool:  # A's account, and the code A accepted, merged into B's file
        try:
            docs = json.loads((tmp_path / "b" / "store" / "admins.json").read_text())["admins"]
        except FileNotFoundError:
            return False
        return any(d["name"] == "root" and d["state"]["last_step"] >= authenticator.used for d in docs)

    wait_for(b_knows_root, "B to take in root's account", 30)
    logged_in = on_b("login", "--user", "root", "--password-stdin", "--totp", authenticator.code())
    assert logged_in.returncode == 0, logged_in.stderr
    fleet.agent("web-1").write(*[f"web-1 line {i}" for i in range(50)])

    def sealed() -> bool:
        reports = json.loads(on_b("verify", "--json").stdout)["reports"]
        return any(r["clean"] and r["segments"] >= 1 and r["wal_records"] == 0 for r in reports)

    wait_for(sealed, "the lines to be sealed and verified clean through B", 120)

    archive = tmp_path / "city.tar"
    made = on_b("backup", "--tenant", "city", "-o", archive)
    assert made.returncode == 0, made.stderr
    checked = documented_verify(fleet, tmp_path)  # on A's host, with the cluster's keys
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "tenant city:" in checked.stdout and "  clean" in checked.stdout
    assert b"web-1 line" not in archive.read_bytes()  # ciphertext only

    refused = fleet.local("restore", archive)
    assert refused.returncode == 1 and "not supported on this backend" in refused.stderr
    assert "Traceback" not in refused.stderr

    prefix = tmp_path / "disposal-city"
    erased = fleet.admin("erase-tenant", "city", "--confirm", "city", "--report", prefix)
    assert erased.returncode == 0, erased.stderr
    report = json.loads(prefix.with_name("disposal-city.json").read_text())
    assert report["media"]["data_backed_up"] == "yes" and len(report["media"]["backups"]) == 1
    assert "hold no key: they are unreadable" in report["sanitization"]["notes"]

    after = documented_verify(fleet, tmp_path)
    assert after.returncode == 1 and "unreadable" in after.stdout and "destroyed" in after.stdout
