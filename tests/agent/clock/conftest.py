"""Fixtures of the agent's clock tests: a real chronyd that synchronises to another and answers
on its command port. The NTP servers (a real chronyd, one 250 ms ahead, a scripted FAKE) are
in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.ntp import Chronyd
from support.processes import free_udp_port


@pytest.fixture
def chrony_client(tmp_path: Path, chronyd_binary: str) -> Iterator[Callable[..., Chronyd]]:
    """Make a chronyd -x that synchronises to a loopback server and answers on a command port
    (``cmdport``, default a free one) and a Unix socket."""
    started: list[Chronyd] = []

    def make(server_port: int, cmdport: int | None = None) -> Chronyd:
        client = Chronyd(chronyd_binary, tmp_path / f"client{len(started)}",
                         f"server 127.0.0.1 port {server_port} iburst minpoll -2 maxpoll 0",
                         port=0, cmdport=free_udp_port() if cmdport is None else cmdport)
        started.append(client)
        return client

    yield make
    for client in started:
        client.stop()
