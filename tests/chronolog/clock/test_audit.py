"""Bursts, the best sample of a burst, and politeness towards servers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.ntp import reply_packet

from chronolog.clock.audit import MIN_SPACING, BurstResult, Politeness, best_of, burst, jitter_of
from chronolog.clock.sntp import Sample


def sample(offset: float, delay: float) -> Sample:
    return Sample("s:123", offset, delay, 1, 0.0, 0.0, "GPS", 0.0)


async def test_a_burst_to_a_real_chronyd_gives_every_sample(chronyd: int) -> None:
    result = await burst("local", "127.0.0.1", chronyd, 4, 0.05, 1, 1.5)
    assert (result.requests, len(result.samples), result.rejections, result.error) == (4, 4, (), None)
    assert result.best is not None and result.best.delay == min(s.delay for s in result.samples)
    assert result.jitter is not None and result.jitter < 0.001


async def test_the_least_delayed_reply_of_a_burst_is_the_one_kept(scripted: Any) -> None:
    """FAKE server holding its replies back 60, 0 and 30 ms: queueing only ever adds delay."""
    holds = iter([0.06, 0.0, 0.03])
    loop = asyncio.get_running_loop()

    def held(request: bytes) -> None:
        loop.call_later(next(holds), lambda: server.transport.sendto(reply_packet(request), server.peer))

    port, server = await scripted(lambda req: None)
    server.reply = held
    receive = server.datagram_received

    def remember(data: bytes, addr: Any) -> None:
        server.peer = addr
        receive(data, addr)

    server.datagram_received = remember
    result = await burst("held", "127.0.0.1", port, 3, 0.01, 1, 1.5)
    assert len(result.samples) == 3
    assert result.best is result.samples[1]


def test_jitter_is_the_rms_against_the_best_sample_and_unknown_for_one() -> None:
    samples = [sample(0.010, 0.002), sample(0.013, 0.004), sample(0.006, 0.003)]
    assert best_of(samples) is samples[0]
    assert jitter_of(samples) == pytest.approx(((0.003**2 + 0.004**2) / 2) ** 0.5)
    assert jitter_of(samples[:1]) is None and best_of([]) is None


@pytest.mark.parametrize("code", ["RATE", "DENY"])
async def test_a_kiss_of_death_ends_the_burst(scripted: Any, code: str) -> None:
    port, server = await scripted(lambda req: reply_packet(req, stratum=0, leap=3, refid=code.encode()))
    result = await burst("kod", "127.0.0.1", port, 4, 0.01, 1, 1.5)
    assert server.requests == 1 and result.requests == 1
    assert result.kiss == code and result.rejections == ("kiss_of_death",)


def result(requests: int, good: int, kiss: str | None = None) -> BurstResult:
    return BurstResult("s:123", requests, tuple(sample(0, 0.001) for _ in range(good)), kiss=kiss)


def test_rate_doubles_the_interval_and_deny_stops_for_a_day() -> None:
    p = Politeness(interval=64)
    p.after(0, 6, result(4, 4))
    assert p.next_at == 64
    p.after(64, 70, result(1, 0, kiss="RATE"))
    assert p.next_at == 64 + 128
    p.after(192, 198, result(1, 0, kiss="RATE"))
    assert p.next_at == 192 + 256
    p.after(448, 454, result(4, 4))  # a good burst halves it again
    assert p.next_at == 448 + 128
    p.after(576, 577, result(1, 0, kiss="DENY"))
    assert p.denied == "DENY" and p.next_at == 577 + 86400
    p.hurry(600)
    assert p.next_at == 577 + 86400  # hurrying never overrides a DENY


def test_silence_backs_off_at_most_four_times() -> None:
    p = Politeness(interval=64)
    for i in range(5):
        p.after(i * 1000, i * 1000 + 8, result(4, 0))
    assert p.next_at == 4000 + 4 * 64


@given(st.lists(st.tuples(st.integers(1, 8), st.integers(0, 8),
                          st.sampled_from([None, "RATE", "DENY", "INIT"]), st.floats(0, 100),
                          st.booleans()), max_size=30),
       st.floats(16, 600))
def test_no_server_is_asked_more_than_once_per_16_s_on_average(
        bursts: list[tuple[int, int, str | None, float, bool]], interval: float) -> None:
    """Whatever the replies and however often it is hurried, the first request of each burst
    waits 16 s for each request before it."""
    p = Politeness(interval=interval)
    now = 0.0
    sent = 0
    first = None
    for requests, good, kiss, took, hurried in bursts:
        if hurried:
            p.hurry(now)
        now = max(now, p.next_at)
        if first is None:
            first = now
        assert now - first >= MIN_SPACING * sent - 1e-6
        p.after(now, now + took, result(requests, min(good, requests), kiss))
        sent += requests
        now += took
