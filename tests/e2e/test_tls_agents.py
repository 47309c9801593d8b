"""Agents and investigators over TLS: mutual TLS, tokens over TLS, and what is refused."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from support.fleet import Fleet
from support.pki import make_ca
from support.processes import BIN, Daemon, wait_for


@pytest.fixture
def fleet(tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> Fleet:
    return Fleet(tmp_path, daemons, tls=True)


def test_an_agent_with_a_client_certificate_ships_over_mutual_tls(fleet: Fleet) -> None:
    web = fleet.agent("web-1", cert_dir=fleet.issue_certificate("web-1"))
    web.write("2026-11-27T09:00:00Z over mutual TLS")
    fleet.wait_for_lines(1)
    assert "over mutual TLS" in fleet.query("--since", "2026-11-27 00:00")
    assert fleet.url.startswith("https://")


def test_an_agent_with_a_token_ships_over_tls(fleet: Fleet) -> None:
    web = fleet.agent("web-1")
    web.write("2026-11-27T09:00:00Z token over TLS")
    fleet.wait_for_lines(1)


def test_a_revoked_certificate_is_refused_and_the_agent_keeps_its_lines(fleet: Fleet) -> None:
    cert_dir = fleet.issue_certificate("web-1")
    listing = subprocess.run([BIN / "chronolog-collector", "credentials", "-c", fleet.config, "list"],
                             capture_output=True, text=True, check=True).stdout
    [cid] = [line.split("\t")[0] for line in listing.splitlines() if "\tweb-1\t" in line]
    subprocess.run([BIN / "chronolog-collector", "credentials", "-c", fleet.config, "revoke", cid,
                    "--confirm", cid], check=True, capture_output=True)
    web = fleet.agent("web-1", cert_dir=cert_dir)
    web.write("2026-11-27T09:00:00Z refused")
    wait_for(lambda: "http 401 unauthenticated" in web.daemon.log.read_text(), "a 401 for the revoked cert")
    assert fleet.stream_lines() == 0
    assert web.daemon.running  # it keeps the lines and retries


def test_an_agent_that_does_not_trust_the_collector_refuses_to_send(fleet: Fleet, tmp_path: Path) -> None:
    other = make_ca(tmp_path / "other-ca")
    web = fleet.agent("web-1", ca_file=other.cert_file)
    web.write("2026-11-27T09:00:00Z never sent")
    wait_for(lambda: "certificate verify failed" in web.daemon.log.read_text(), "a verification failure")
    assert fleet.stream_lines() == 0


def test_a_collector_certificate_for_another_name_is_refused(
        tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> None:
    fleet = Fleet(tmp_path, daemons, tls=True, server_names=("collector.example",))
    web = fleet.agent("web-1")  # connects to https://localhost:PORT
    web.write("2026-11-27T09:00:00Z never sent")
    wait_for(lambda: "Hostname mismatch" in web.daemon.log.read_text(), "a host name mismatch")
    assert web.metric("chronolog_agent_lines_read_total") == 1
    assert web.metric("chronolog_agent_lines_acked_total") == 0


def test_a_client_certificate_from_another_ca_gets_no_handshake(fleet: Fleet, tmp_path: Path) -> None:
    other = make_ca(tmp_path / "rogue-ca")
    rogue = tmp_path / "cert-rogue"
    rogue.mkdir()
    other.issue_client("rogue", "c_rogue").write(rogue, "rogue")
    web = fleet.agent("rogue", cert_dir=rogue)
    web.write("2026-11-27T09:00:00Z never stored")
    wait_for(lambda: "delivery failed" in web.daemon.log.read_text(), "a refused handshake")
    assert fleet.stream_lines() == 0


def test_the_cli_without_the_pinned_ca_cannot_query(fleet: Fleet) -> None:
    result = subprocess.run([BIN / "chronolog", "--url", fleet.url, "--token-file", fleet.investigator_token,
                             "query", "--since", "1h"], capture_output=True, text=True)
    assert result.returncode == 1 and "certificate verify failed" in result.stderr
