"""One SNTP exchange, against real chronyd servers on loopback (one true, one 250 ms ahead,
one not synchronised) and against a scripted server (a fake, named as such) for the replies a
real server cannot be made to send: kiss-o'-death, a wrong origin, a wrong mode."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from support.ntp import AHEAD, FAKETIME_LIB, Chronyd, reply_packet

from chronolog.clock.sntp import SntpError, query


async def test_a_real_chronyd_on_loopback_agrees_with_our_clock(chronyd: int) -> None:
    sample = await query("127.0.0.1", chronyd, timeout=2)
    assert abs(sample.offset) < 0.002  # same machine, same clock
    assert sample.stratum == 1 and sample.refid == "7F7F0101"  # chronyd's "local" reference
    assert sample.kernel_rx  # T4 is the kernel's receive timestamp
    assert sample.bound >= abs(sample.offset) and sample.bound < 0.05


async def test_a_chronyd_250_ms_ahead_is_measured_within_2_ms_and_bounded(chronyd_ahead: Chronyd) -> None:
    sample = await query("127.0.0.1", chronyd_ahead.port, timeout=2)
    true_error = -AHEAD  # our clock is 250 ms behind that server's
    assert sample.offset == pytest.approx(true_error, abs=0.002)
    assert sample.offset - sample.radius <= true_error <= sample.offset + sample.radius
    assert sample.bound >= abs(true_error)
    assert sample.refid == "FAKE"


async def test_an_unsynchronised_chronyd_is_rejected_as_unsynchronized(tmp_path: Path,
                                                                      chronyd_binary: str) -> None:
    server = Chronyd(chronyd_binary, tmp_path / "unsync", "allow 127.0.0.1\nbindaddress 127.0.0.1")
    try:
        with pytest.raises(SntpError) as info:
            for _ in range(50):  # until it is up
                try:
                    await query("127.0.0.1", server.port, timeout=0.2)
                except SntpError as e:
                    if e.reason not in ("unreachable", "timeout"):
                        raise
                await asyncio.sleep(0.1)
    finally:
        server.stop()
    assert info.value.reason == "unsynchronized"
    assert "leap indicator 3" in str(info.value)


@pytest.mark.parametrize("kwargs, reason", [
    ({"stratum": 0, "refid": b"RATE", "leap": 3}, "kiss_of_death"),
    ({"stratum": 0, "refid": b"DENY", "leap": 3}, "kiss_of_death"),
    ({"leap": 3}, "unsynchronized"),
    ({"mode": 3}, "bad_mode"),
    ({"stratum": 16}, "bad_stratum"),
])
async def test_bad_replies_are_rejected_with_their_reason(scripted: Any, kwargs: dict[str, Any],
                                                          reason: str) -> None:
    port, _ = await scripted(lambda req: reply_packet(req, **kwargs))
    with pytest.raises(SntpError) as info:
        await query("127.0.0.1", port, timeout=1)
    assert info.value.reason == reason
    if reason == "kiss_of_death":
        assert info.value.kiss == kwargs["refid"].decode()


async def test_a_reply_with_the_wrong_origin_is_not_taken(scripted: Any) -> None:
    port, _ = await scripted(lambda req: reply_packet(req, origin=b"\x01" * 8))
    with pytest.raises(SntpError) as info:
        await query("127.0.0.1", port, timeout=0.5)
    assert info.value.reason == "bad_origin"


async def one_shot_server(
        answer: Callable[[bytes], Awaitable[list[bytes]]]) -> tuple[int, asyncio.Task[None]]:
    """FAKE NTP server for one request: sends whatever ``answer(request)`` returns."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()

    async def serve() -> None:
        with sock:
            request, client = await loop.sock_recvfrom(sock, 512)
            for packet in await answer(request):
                await loop.sock_sendto(sock, packet, client)

    return sock.getsockname()[1], asyncio.create_task(serve())


async def test_a_forged_reply_before_the_real_one_is_ignored() -> None:
    async def forged_then_real(request: bytes) -> list[bytes]:
        return [reply_packet(request, origin=b"\x02" * 8, offset=5), reply_packet(request)]

    port, server = await one_shot_server(forged_then_real)
    sample = await query("127.0.0.1", port, timeout=2)
    await server
    assert abs(sample.offset) < 0.01


async def test_silence_is_a_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:
        quiet.bind(("127.0.0.1", 0))
        with pytest.raises(SntpError) as info:
            await query("127.0.0.1", quiet.getsockname()[1], timeout=0.3)
    assert info.value.reason == "timeout"


async def test_a_name_that_does_not_resolve_is_a_resolve_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """FAKE resolver: a real lookup of an unknown name would send a DNS query off this machine."""

    async def no_such_name(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", no_such_name)
    with pytest.raises(SntpError) as info:
        await query("ntp.example", 123, timeout=2)
    assert info.value.reason == "resolve" and "ntp.example" in str(info.value)


async def test_a_clock_step_during_the_exchange_discards_the_sample(
        tmp_path: Path, require_program: Any) -> None:
    """The client runs under libfaketime; its wall clock jumps +5 s while it waits for a reply."""
    require_program("faketime", "faketime")
    offset_file = tmp_path / "faketime"
    offset_file.write_text("+0\n")

    async def step_then_answer(request: bytes) -> list[bytes]:
        offset_file.write_text("+5\n")
        await asyncio.sleep(0.3)
        return [reply_packet(request)]

    port, server = await one_shot_server(step_then_answer)
    env = {**os.environ, "LD_PRELOAD": FAKETIME_LIB, "FAKETIME_TIMESTAMP_FILE": str(offset_file),
           "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    code = ("import asyncio\nfrom chronolog.clock.sntp import query, SntpError\n"
            f"try:\n    asyncio.run(query('127.0.0.1', {port}, timeout=5))\n    print('sample')\n"
            "except SntpError as e:\n    print(e.reason)\n")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, env=env,
                                                stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    await server
    assert out.decode().strip() == "clock_stepped"
