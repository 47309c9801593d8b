"""What the daemons do for systemd, against a real notify socket and real daemons: READY=1 once
the API answers, watchdog pings from the running loop, STOPPING=1; files handed over as
credentials take the place of the configured ones."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel
from support.fleet import Fleet
from support.processes import Daemon

from chronolog.systemd import ConfigFile, handed_over, notify


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(10)
    yield sock
    sock.close()


def messages(sock: socket.socket, until: str) -> list[str]:
    """What systemd would have been told, up to and including the message ``until``."""
    seen: list[str] = []
    while until not in seen:
        seen += sock.recv(4096).decode().split("\n")
    return seen


def test_notify_reaches_a_path_and_an_abstract_socket(notify_socket: socket.socket,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False  # not under systemd: nothing to do
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.getsockname())
    assert notify("READY=1", "STATUS=up") is True
    assert notify_socket.recv(100) == b"READY=1\nSTATUS=up"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as abstract:
        abstract.bind("\0chronolog-test-notify")
        monkeypatch.setenv("NOTIFY_SOCKET", "@chronolog-test-notify")
        assert notify("WATCHDOG=1") and abstract.recv(100) == b"WATCHDOG=1"


def test_a_collector_says_ready_once_it_answers_pings_the_watchdog_and_says_stopping(
        tmp_path: Path, notify_socket: socket.socket, daemons: Callable[[str, Path, Path], Daemon]) -> None:
    fleet = Fleet(tmp_path, daemons)
    fleet.collector.stop()
    env = {"NOTIFY_SOCKET": notify_socket.getsockname(), "WATCHDOG_USEC": "200000"}
    fleet.collector.start(env)
    told = messages(notify_socket, "READY=1")
    with urllib.request.urlopen(f"{fleet.url}/healthz", timeout=5) as answer:  # ready means it answers
        assert answer.status == 200
    assert any(m.startswith("STATUS=serving api=") for m in told)
    assert messages(notify_socket, "WATCHDOG=1").count("WATCHDOG=1") >= 1
    assert messages(notify_socket, "WATCHDOG=1").count("WATCHDOG=1") >= 1  # and again, 0.1 s later
    fleet.collector.stop()
    assert "STOPPING=1" in messages(notify_socket, "STOPPING=1")


class Link(BaseModel):
    ca_file: ConfigFile


def test_a_handed_over_file_takes_the_configured_ones_place(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    configured = tmp_path / "etc" / "agent" / "ca.crt"  # as if in root's 0700 directory: unseen
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(ValueError, match=r"no such file: .*/etc/agent/ca\.crt"):
        Link(ca_file=configured)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    (credentials / "agent_ca.crt").write_text("PEM")  # LoadCredential=agent:DIR (DIR/ca.crt)
    assert Link(ca_file=configured).ca_file == configured  # the configuration still names its file
    assert handed_over(configured) == credentials / "agent_ca.crt"  # read from systemd's copy
