"""The SNTP audit, against a real chronyd and against a scripted server (a fake, named as
such) for the replies a real server cannot be made to send: kiss-o'-death, leap 3, a wrong
origin, a wrong mode."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from agent.clock.monitor import ClockConfig, ClockMonitor, parse_server, view_from
from agent.clock.sntp import Sample, SntpError, query
from agent.telemetry import Telemetry

NTP_EPOCH = 2208988800


def ntp_bytes(t: float) -> bytes:
    t += NTP_EPOCH
    return struct.pack(">II", int(t), int((t % 1) * 2**32))


class ScriptedServer(asyncio.DatagramProtocol):
    """FAKE NTP server: answers each request as ``reply(request) -> bytes`` says."""

    def __init__(self, reply: Callable[[bytes], bytes | None]) -> None:
        self.reply = reply
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        answer = self.reply(data)
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)


def reply_packet(request: bytes, *, offset: float = 0.0, leap: int = 0, mode: int = 4,
                 stratum: int = 1, refid: bytes = b"GPS\0", origin: bytes | None = None) -> bytes:
    now = time.time() + offset
    first = (leap << 6) | (4 << 3) | mode
    header = struct.pack(">BBbb", first, stratum, 4, -20)
    root = struct.pack(">II", 0, 0)  # root delay, root dispersion
    return (header + root + refid + ntp_bytes(now) + (origin or request[40:48])
            + ntp_bytes(now) + ntp_bytes(now))


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Callable[[bytes], bytes | None]], int]]:
    transports = []

    async def make(reply: Callable[[bytes], bytes | None]) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: ScriptedServer(reply),
                                                           local_addr=("127.0.0.1", 0))
        transports.append(transport)
        return int(transport.get_extra_info("sockname")[1])

    yield make  # type: ignore[misc]
    for t in transports:
        t.close()


async def test_a_real_chronyd_on_loopback_agrees_with_our_clock(chronyd: int) -> None:
    sample = await query("127.0.0.1", chronyd, timeout=2)
    assert abs(sample.offset) < 0.002  # same machine, same clock
    assert sample.stratum == 1
    assert sample.bound >= abs(sample.offset) and sample.bound < 0.05


async def test_a_server_250_ms_ahead_shows_as_our_clock_250_ms_behind(scripted: Any) -> None:
    port = await scripted(lambda req: reply_packet(req, offset=0.250))
    sample = await query("127.0.0.1", port, timeout=2)
    assert sample.offset == pytest.approx(-0.250, abs=0.002)
    assert sample.bound >= 0.249


@pytest.mark.parametrize("kwargs, reason", [
    ({"stratum": 0, "refid": b"RATE"}, "kiss_of_death"),
    ({"leap": 3}, "unsynchronized"),
    ({"mode": 3}, "bad_mode"),
    ({"stratum": 16}, "bad_stratum"),
])
async def test_bad_replies_are_rejected_with_their_reason(scripted: Any, kwargs: dict[str, Any],
                                                          reason: str) -> None:
    port = await scripted(lambda req: reply_packet(req, **kwargs))
    with pytest.raises(SntpError) as info:
        await query("127.0.0.1", port, timeout=1)
    assert info.value.reason == reason
    if reason == "kiss_of_death":
        assert "RATE" in str(info.value)


async def test_a_reply_with_the_wrong_origin_is_not_taken(scripted: Any) -> None:
    port = await scripted(lambda req: reply_packet(req, origin=b"\x01" * 8))
    with pytest.raises(SntpError) as info:
        await query("127.0.0.1", port, timeout=0.5)
    assert info.value.reason == "bad_origin"


async def test_silence_is_a_timeout_and_a_bad_name_a_resolve_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:
        quiet.bind(("127.0.0.1", 0))
        with pytest.raises(SntpError) as info:
            await query("127.0.0.1", quiet.getsockname()[1], timeout=0.3)
    assert info.value.reason == "timeout"
    with pytest.raises(SntpError) as info:
        await query("no-such-host.invalid", 123, timeout=2)
    assert info.value.reason == "resolve"


def sample(offset: float, delay: float, at: float) -> Sample:
    return Sample("s:123", offset, delay, 1, 0.002, 0.001, "GPS", at)


def test_bound_is_offset_plus_half_delay_plus_root_distance_plus_drift() -> None:
    view = view_from(sample(-0.010, 0.004, at=1000.0), {}, now=1100.0, drift_ppm=50)
    assert view.offset == -0.010
    assert view.bound == pytest.approx(0.010 + 0.002 + (0.001 + 0.001) + 50e-6 * 100)


def test_without_a_sample_the_bound_is_unknown_with_the_reason_never_zero() -> None:
    view = view_from(None, {"ntp.nict.jp:123": "resolve: ntp.nict.jp: no address"}, 0.0, 50)
    assert view.bound is None and view.offset is None
    assert view.reason == "no NTP server answered (ntp.nict.jp:123: resolve: ntp.nict.jp: no address)"


async def test_monitor_reports_unknown_when_no_server_answers() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:
        quiet.bind(("127.0.0.1", 0))
        config = ClockConfig(servers=[f"127.0.0.1:{quiet.getsockname()[1]}"], timeout=0.2)
        telemetry = Telemetry()
        view = await ClockMonitor(config, telemetry).check()
    assert view.bound is None and "timeout" in (view.reason or "")
    assert telemetry.registry.get_sample_value("chronolog_agent_clock_bound_known") == 0


@pytest.mark.parametrize("text, expected", [
    ("ntp.nict.jp", ("ntp.nict.jp", 123)), ("127.0.0.1:11123", ("127.0.0.1", 11123)),
    ("[::1]:124", ("::1", 124)), ("::1", ("::1", 123)),
])
def test_server_names(text: str, expected: tuple[str, int]) -> None:
    assert parse_server(text) == expected


@pytest.mark.parametrize("text", ["host:0", "host:x", ":123", "[::1]:99999"])
def test_bad_server_names(text: str) -> None:
    with pytest.raises(ValueError):
        parse_server(text)
