"""The ntpd reader: mode 6 parsing (pure), and a real ntpsec ntpd read by the agent's
``clock`` command, checked against ntpsec's own ``ntpq -c rv`` on the same daemon.

ntpsec conflicts with chrony as a Debian package, so it runs unpacked (tools/system-deps.sh)
in a private network namespace (it insists on port 123) without CAP_SYS_TIME. It
synchronises to its undisciplined local clock: a real daemon, a real mode 6 conversation.
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.netns import Namespace, unpacked
from support.processes import BIN, wait_for

from agent.clock.readers.ntpd import parse_variables, reassemble, view_from


def fragment(seq: int, offset: int, text: bytes, more: bool) -> bytes:
    op = 0x80 | (0x20 if more else 0) | 2
    return struct.pack(">BBHHHHH", (2 << 3) | 6, op, seq, 0, 0, offset, len(text)) + text


def test_fragments_are_put_back_in_order_and_incomplete_replies_wait() -> None:
    first, last = b'version="ntpd 4", leap=0, ', b"stratum=2, offset=-1.5"
    packets = [fragment(7, len(first), last, False), fragment(9, 0, b"x", False)]
    assert reassemble(packets, 7) is None  # the first fragment is missing
    packets.append(fragment(7, 0, first, True))
    assert reassemble(packets, 7) == (first + last).decode()


def test_variables_and_units_signs_and_freshness() -> None:
    text = ('version="ntpd ntpsec-1.2.2, built", leap=00, stratum=2,\r\nrootdelay=12.5, rootdisp=3.25, '
            'refid=192.0.2.7, reftime=0xeeb415e8.80000000, offset=-1.5, sys_jitter=0.1')
    variables = parse_variables(text)
    assert variables["version"] == "ntpd ntpsec-1.2.2, built" and variables["refid"] == "192.0.2.7"
    reftime = 0xEEB415E8 + 0.5 - 2208988800
    view = view_from(variables, now=reftime + 30)
    assert view.synced and view.leap == "normal" and view.stratum == 2
    assert view.offset == pytest.approx(0.0015)  # ntpd's offset -1.5 ms: this clock is 1.5 ms ahead
    assert (view.root_delay, view.root_dispersion, view.age) == pytest.approx((0.0125, 0.00325, 30))
    unsynced = view_from(parse_variables("leap=11, stratum=16, refid=INIT, reftime=0x00000000.00000000"), 0)
    assert not unsynced.synced and unsynced.leap == "unsynchronised" and unsynced.age is None


NTP_CONF = """\
refclock local stratum 3 minpoll 3 maxpoll 3 prefer
tos minsane 1 minclock 1
restrict default
restrict 127.0.0.1
restrict ::1
driftfile {dir}/ntp.drift
"""


@pytest.fixture
def ntpd(tmp_path: Path) -> Iterator[Namespace]:
    binary = unpacked("ntpsec", "usr/sbin/ntpd")
    ns = Namespace()
    conf = tmp_path / "ntp.conf"
    conf.write_text(NTP_CONF.format(dir=tmp_path))
    try:
        ns.spawn([str(binary), "-n", "-c", str(conf), "-p", str(tmp_path / "ntpd.pid")],
                 tmp_path / "ntpd.log")
        yield ns
    finally:
        ns.close()


def ntpq_rv(ns: Namespace) -> str:
    """ntpsec's own ntpq (Python, with its C helper library beside it)."""
    package = unpacked("python3-ntp", "usr/lib/python3/dist-packages/ntp")
    library = unpacked("python3-ntp", "usr/lib/x86_64-linux-gnu/ntp/libntpc.so")
    ntpq = unpacked("ntpsec", "usr/bin/ntpq")
    # ntp/ntpc.py looks for the library beside itself first; its other ways (ldconfig, or `ld`
    # for LD_LIBRARY_PATH) find nothing for an unpacked package on a machine without binutils.
    beside = package / "libntpc.so"
    if not beside.exists():
        beside.symlink_to(library.resolve())
    env = {**os.environ, "PYTHONPATH": str(package.parent)}
    return ns.run(["/usr/bin/python3", str(ntpq), "-c", "rv", "127.0.0.1"], env=env).stdout


def test_a_real_ntpd_read_over_mode_6_agrees_with_ntpq(ntpd: Namespace, tmp_path: Path) -> None:
    wait_for(lambda: "sync_local" in ntpq_rv(ntpd), "ntpd to select its local clock", timeout=120)
    config = tmp_path / "agent.toml"
    config.write_text('[agent.clock]\nservers = ["127.0.0.1:123"]\nburst = 1\ninterval = 16\n'
                      "max_root_distance = 0.01\n"
                      '[agent.clock.daemon]\nread = "ntpd"\n')
    result = ntpd.run([str(BIN / "chronolog-agent"), "clock", "--once", "--json", "-c", str(config)],
                      check=False)
    report = json.loads(result.stdout)
    theirs = ntpq_rv(ntpd)
    daemon = report["daemon"]
    assert daemon["daemon"] == "ntpd"
    assert str(daemon["stratum"]) == re.search(r"stratum=(\d+)", theirs).group(1)  # type: ignore[union-attr]
    assert daemon["reference"] == re.search(r"refid=([\w.]+)", theirs).group(1)  # type: ignore[union-attr]
    assert daemon["leap"] == "normal" and "leap=00" in theirs
    assert daemon["details"]["version"] in theirs
    # Free-running on its own clock is not synchronised to UTC, whatever ntpd calls it.
    assert daemon["synced"] is False and daemon["details"]["local_mode"] is True
    # The audit asked the same ntpd over NTP; its undisciplined clock's root dispersion (the
    # 0.4 s to 8 s seen) is far over the 10 ms allowed here, so the reply is refused, and with
    # nothing to vouch for the clock the view is unknown.
    assert report["servers"][0]["rejected"] == {"root_distance": 1}
    assert report["status"] == "unknown" and result.returncode == 2
    assert "ntpd is not synchronised" in report["reason"]
