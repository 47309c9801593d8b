"""Backup, erase and restore with the real commands: after `chronolog admin erase-tenant`,
restoring the tenant's backup cannot decrypt anything; other tenants are untouched and verify."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from support.fleet import Fleet
from support.processes import BIN, Daemon, wait_for
from support.pusher import Pusher

from collector.store.chain import signature_ok

STORE = "[collector.store]\nsegment_max_age = 0.5\n"


def issue(fleet: Fleet, tenant: str, role: str, path: Path) -> Path:
    subprocess.run([BIN / "chronolog-collector", "credentials", "-c", fleet.config, "issue",
                    "--tenant", tenant, "--role", role, "--name", f"{role}-{tenant}", "--token-file", path],
                   check=True, capture_output=True)
    return path


def load(fleet: Fleet, token: Path, lines: int) -> None:
    pusher = Pusher(fleet.url, token, streams=2, lines=100)
    pusher.start()
    wait_for(lambda: pusher.total >= lines or pusher.error, f"{lines} lines acknowledged")
    pusher.stop.set()
    pusher.join(timeout=60)
    assert pusher.error is None, pusher.error


@pytest.fixture
def fleet(tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> Fleet:
    fleet = Fleet(tmp_path, daemons, extra_config=STORE)
    load(fleet, fleet.agent_token, 2000)
    load(fleet, issue(fleet, "other", "agent", tmp_path / "other.token"), 1000)
    return fleet


def query_status(fleet: Fleet) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN / "chronolog", "--url", fleet.url, "--token-file", fleet.investigator_token,
                           "query", "--since", "2026-01-01 00:00", "--until", "2027-01-01 00:00"],
                          capture_output=True, text=True)


def test_after_erase_the_backup_cannot_be_decrypted_and_other_tenants_are_untouched(
        fleet: Fleet, tmp_path: Path) -> None:
    backup = tmp_path / "city.tar"
    result = fleet.admin("backup", "--tenant", "city", "-o", backup)
    assert result.returncode == 0, result.stderr
    assert b"seq=" not in backup.read_bytes()  # ciphertext only

    preview = fleet.admin("erase-tenant", "city")
    assert preview.returncode == 0, preview.stderr
    assert "would destroy" in preview.stdout and "tk-" in preview.stdout
    assert "(investigator, investigator)" in preview.stdout and "agent-other" not in preview.stdout
    assert "dry run: nothing was changed" in preview.stderr and "--confirm city" in preview.stderr
    assert query_status(fleet).returncode == 0  # the preview changed nothing

    wrong = fleet.admin("erase-tenant", "city", "--confirm", "other")
    assert wrong.returncode == 2 and "must repeat the tenant name" in wrong.stderr

    report_prefix = tmp_path / "disposal-city"
    erased = fleet.admin("erase-tenant", "city", "--confirm", "city", "--report", report_prefix)
    assert erased.returncode == 0, erased.stderr
    report = json.loads(report_prefix.with_name("disposal-city.json").read_text())
    text = report_prefix.with_name("disposal-city.txt").read_text()
    assert report["sanitization"]["method_type"] == "Purge"
    assert report["sanitization"]["method_used"] == "Cryptographic Erase"
    assert report["sanitization"]["tool"].startswith("chronolog-collector ")
    assert report["sanitization"]["verification"]["decrypt_failed"] is True
    assert report["sanitization"]["verification"]["result"] == "decryption failed"
    assert report["media"]["data_backed_up"] == "yes" and len(report["media"]["backups"]) == 1
    assert {c["role"] for c in report["scope"]["credentials_revoked"]} == {"agent", "investigator"}
    assert report["scope"]["key_ids"] and report["scope"]["lines"] >= 2000
    assert signature_ok(report, base64.b64decode(report["public_key"]))
    assert "CERTIFICATE OF SANITIZATION" in text and "Cryptographic Erase" in text
    assert "Verification result: decryption failed" in text

    refused = query_status(fleet)
    assert refused.returncode == 1 and "HTTP 401" in refused.stderr  # credentials revoked

    fleet.collector.stop()
    restored = fleet.local("restore", backup, "--confirm", "city")
    assert restored.returncode == 1, restored.stdout + restored.stderr
    assert "unreadable" in restored.stdout and "destroyed" in restored.stdout
    assert "was not restored" in restored.stderr
    assert not (tmp_path / "store" / "tenants" / "city").exists()
    offline = fleet.local("verify", "--backup", backup)
    assert offline.returncode == 1 and "unreadable" in offline.stdout

    other = fleet.local("verify", "--tenant", "other")
    assert other.returncode == 0 and "clean" in other.stdout, other.stdout
    fleet.collector.start()
    everything = fleet.admin("verify")
    assert everything.returncode == 0 and "tenant other" in everything.stdout
    assert "tenant city" not in everything.stdout


def test_a_lost_tenant_comes_back_from_its_backup_and_its_key_backup(fleet: Fleet, tmp_path: Path) -> None:
    backup, keys = tmp_path / "city.tar", tmp_path / "keys.json"
    assert fleet.admin("backup", "--tenant", "city", "-o", backup).returncode == 0
    assert fleet.local("keys", "backup", keys).returncode == 0
    assert oct(keys.stat().st_mode & 0o777) == "0o600"
    before = query_status(fleet).stdout
    fleet.collector.stop()
    busy = fleet.daemons("chronolog-collector", fleet.config, tmp_path)
    for lost in ("tenants/city", "keys"):  # data and keys lost; the master key file is elsewhere
        shutil.rmtree(tmp_path / "store" / lost)
    assert fleet.local("keys", "restore", keys).returncode == 0
    preview = fleet.local("restore", backup)  # a guarded operation: a dry run first
    assert preview.returncode == 0 and "restore would put back tenant city" in preview.stdout
    assert "--confirm city" in preview.stderr and not (tmp_path / "store/tenants/city").exists()
    restored = fleet.local("restore", backup, "--confirm", "city")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "clean" in restored.stdout
    busy.start()
    locked = fleet.local("restore", backup, "--confirm", "city")
    assert locked.returncode == 1 and "stop it first" in locked.stderr
    fleet.collector = busy
    assert query_status(fleet).stdout == before
    # Done while the collector was stopped, the restore still counts for the alert at start.
    with urllib.request.urlopen(busy.info["metrics"], timeout=10) as response:
        metrics = response.read().decode()
    for outcome in ("done", "dry_run"):
        assert f'guarded_operations_total{{operation="restore",outcome="{outcome}"}} 1.0' in metrics
