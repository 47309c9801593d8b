"""Fixtures of the clock tests: real chronyd servers on loopback (one 250 ms ahead, one
syncing to another and answering on its command port), and a scripted server, a fake named
as such, for the replies no real server can be made to send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.ntp import AHEAD, Chronyd, SockFeeder, synchronised
from support.processes import free_udp_port, wait_for


@pytest.fixture
def chronyd_binary(require_program: Callable[[str, str], str]) -> str:
    return require_program("chronyd", "chrony")


@pytest.fixture
def chronyd_ahead(tmp_path: Path, chronyd_binary: str) -> Iterator[Chronyd]:
    """A real chronyd serving time 250 ms ahead of this machine's clock.

    Its SOCK reference clock is fed "true time = system time + 0.250"; with ``-x`` chronyd keeps
    that correction to itself and serves the corrected time, receive timestamps included (so,
    unlike chronyd under libfaketime, it shows the whole offset: research/peers.md).
    """
    server = Chronyd(chronyd_binary, tmp_path / "ahead",
                     "allow 127.0.0.1\nbindaddress 127.0.0.1\n"
                     "refclock SOCK {refclock} refid FAKE poll 0 filter 4", cmdport=free_udp_port())
    feeder = SockFeeder(server.refclock, AHEAD)
    feeder.start()
    try:
        wait_for(lambda: synchronised(server.port, b"FAKE"), "chronyd to serve +250 ms", timeout=30)
        yield server
    finally:
        feeder.stop()
        server.stop()


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


class ScriptedServer(asyncio.DatagramProtocol):
    """FAKE NTP server: answers each request as ``reply(request) -> bytes`` says."""

    def __init__(self, reply: Callable[[bytes], bytes | None]) -> None:
        self.reply = reply
        self.requests = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.requests += 1
        answer = self.reply(data)
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Callable[[bytes], bytes | None]], Any]]:
    """Make a scripted server; returns its port (and the server, as ``.server``)."""
    transports = []

    async def make(reply: Callable[[bytes], bytes | None]) -> tuple[int, ScriptedServer]:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(lambda: ScriptedServer(reply),
                                                                  local_addr=("127.0.0.1", 0))
        transports.append(transport)
        return int(transport.get_extra_info("sockname")[1]), protocol

    yield make
    for t in transports:
        t.close()
