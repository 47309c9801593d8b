"""The chrony reader: its command protocol against real chronyd processes (one following a
server 250 ms ahead, so the sign convention is tested on a real report), checked against
chronyc's own output, and chronyc's CSV through the Unix socket when the port is closed."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

import pytest
from support.ntp import AHEAD, Chronyd
from support.processes import free_udp_port, wait_for

from agent.clock.daemon import DaemonConfig, DaemonReader
from agent.clock.readers import ReaderError
from agent.clock.readers.chrony import float_from_wire, parse_csv, read_chronyc, read_cmdmon


@pytest.mark.parametrize("raw, value", [
    (0x00000000, 0.0),
    ((1 << 25) | (1 << 23), 0.5),  # exponent 1, coefficient 2^23: 2^23 * 2^(1 - 25)
    ((2 << 25) | (1 << 23), 1.0),
    ((0x7F << 25) | 0x1FFFFFF, -(2.0**-26)),  # exponent -1, coefficient -1
])
def test_chronys_32_bit_floats(raw: int, value: float) -> None:
    assert float_from_wire(raw) == pytest.approx(value)


def chronyc(client: Chronyd, *command: str) -> str:
    """chronyc's own output ("" until the daemon answers)."""
    return subprocess.run(["chronyc", "-h", "127.0.0.1", "-p", str(client.cmdport), *command],
                          capture_output=True, text=True, timeout=10).stdout


def selected(client: Chronyd) -> bool:
    return "^*" in chronyc(client, "sources")


async def test_a_chronyd_following_a_server_250_ms_ahead_says_this_clock_is_250_ms_behind(
        chronyd_ahead: Chronyd, chrony_client: Callable[..., Chronyd]) -> None:
    client = chrony_client(chronyd_ahead.port)
    wait_for(lambda: selected(client), "chronyd to select its server", timeout=30)
    view = await read_cmdmon("127.0.0.1", client.cmdport, timeout=2)
    text = chronyc(client, "tracking")
    assert view.daemon == "chrony" and view.synced and view.leap == "normal"
    assert view.stratum == 2 and view.reference == "127.0.0.1"
    # chronyc: "System time : 0.250000xxx seconds slow of NTP time"; positive means slow there.
    slow = float(re.search(r"System time\s*:\s*([\d.]+) seconds slow", text).group(1))  # type: ignore[union-attr]
    assert view.offset == pytest.approx(-slow, abs=0.001)
    assert view.offset == pytest.approx(-AHEAD, abs=0.002)
    interval = view.interval(now_mono=100.0)  # the daemon's own claim holds the true error
    assert interval is not None and interval.lo <= -AHEAD <= interval.hi
    assert view.age is not None and 0 <= view.age < 30
    [source] = view.sources
    assert source.name == "server 127.0.0.1" and source.state == "selected" and source.stratum == 1
    assert source.reach is not None and source.reach > 0


async def test_with_the_port_closed_chronyc_reads_the_unix_socket(
        chronyd: int, chrony_client: Callable[..., Chronyd]) -> None:
    client = chrony_client(chronyd, cmdport=0)
    socket_path = str(client.socket)
    wait_for(lambda: "^*" in subprocess.run(["chronyc", "-h", socket_path, "sources"], capture_output=True,
                                             text=True).stdout, "chronyd to select its server", timeout=30)
    closed = f"127.0.0.1:{free_udp_port()}"
    with pytest.raises(ReaderError, match="Connection refused"):
        await read_cmdmon("127.0.0.1", int(closed.split(":")[1]), timeout=1)
    reader = DaemonReader(DaemonConfig(read="chrony", chrony_address=closed, chrony_socket=socket_path))
    view = await reader.read()
    assert view.daemon == "chrony" and view.synced and view.reference == "127.0.0.1"
    assert view.offset is not None and abs(view.offset) < 0.002
    assert [s.state for s in view.sources] == ["selected"]
    direct = await read_chronyc("chronyc", socket_path, timeout=5)
    assert direct.stratum == view.stratum == 2


def test_chronyc_csv_keeps_its_two_sign_conventions() -> None:
    text = ("7F000001,127.0.0.1,2,1795790420.697056453,0.250000100,-0.000000010,0.000000118,0.004,"
            "-0.000,0.050,0.000005550,0.000001334,1.0,Normal\n"
            "^,*,127.0.0.1,1,-1,377,1,-0.249999000,-0.250000000,0.000005398\n")
    tracking, sources = parse_csv(text)
    assert tracking.correction == pytest.approx(0.2500001)  # positive: the clock is slow
    assert sources[0].offset == pytest.approx(-0.249999)  # negative: the clock is behind
    assert sources[0].reach == 255 and sources[0].state == "selected"
    with pytest.raises(ReaderError, match="no tracking line"):
        parse_csv("506 Cannot talk to daemon\n")


async def test_auto_names_every_daemon_it_tried_when_none_answers() -> None:
    closed = f"127.0.0.1:{free_udp_port()}"
    reader = DaemonReader(DaemonConfig(chrony_address=closed, ntpd_address=closed,
                                       chrony_socket="/nonexistent", busctl="/nonexistent/busctl"))
    with pytest.raises(ReaderError) as info:
        await reader.read()
    message = str(info.value)
    assert message.startswith("no time daemon readable (chrony: ")
    assert "timesyncd: /nonexistent/busctl not found" in message and "ntpd: " in message
