"""The timesyncd reader: D-Bus properties (pure), and a real systemd-timesyncd, synchronising
to a real chronyd that serves time 250 ms ahead, read by the agent's ``clock`` command.

systemd-timesyncd conflicts with chrony as a Debian package, so it runs unpacked
(tools/system-deps.sh) in private network and mount namespaces, as ``nobody`` and without
CAP_SYS_TIME, on a private system bus: it can measure, and it cannot set the clock, so the
whole 250 ms stays to be seen.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.netns import Namespace, unpacked
from support.ntp import AHEAD, SockFeeder
from support.processes import BIN, wait_for

from agent.clock.readers.timesyncd import view_from

T = 1_795_790_000_000_000  # a realtime instant, in microseconds


def test_the_offset_comes_from_the_four_timestamps_and_freshness_from_the_poll() -> None:
    # the server's clock is 250 ms ahead; 1 ms each way
    message = [0, 4, 4, 1, -20, 2000, 1000, [71, 80, 83, 0], T, T + 251_000, T + 251_100, T + 2_100,
               False, 3, 40]
    view = view_from(message, "ntp.example", 32_000_000, now=(T + 12_100) / 1e6)
    assert view.synced and view.stratum == 1 and view.reference == "ntp.example (GPS)"
    assert view.offset == pytest.approx(-0.250)
    assert (view.root_delay, view.root_dispersion, view.age) == pytest.approx((0.002, 0.001, 0.010))
    assert view.partial_correction  # timesyncd corrects what it measured: the error is in between
    interval = view.interval(now_mono=100.0)
    assert interval is not None and interval.lo < -0.25 and interval.hi > 0
    stale = view_from(message, "ntp.example", 32_000_000, now=(T + 200_000_000) / 1e6)
    assert not stale.synced and "last reply 200 s ago" in stale.details["reason"]
    never = view_from([0, 0, 0, 0, 0, 0, 0, [], 0, 0, 0, 0, False, 0, 0], "", 32_000_000, now=0)
    assert not never.synced and never.offset is None


BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
"""

PROBE = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(0.5)\n"
         "s.sendto(b'\\x23'+b'\\0'*47,('127.0.0.1',123))\nd=s.recv(512)\n"
         "sys.exit(0 if d[0]>>6!=3 and d[12:16]==b'FAKE' else 1)\n")


@pytest.fixture
def timesyncd(tmp_path: Path, require_program: object) -> Iterator[tuple[Namespace, dict[str, str]]]:
    binary = unpacked("systemd-timesyncd", "lib/systemd/systemd-timesyncd")
    for program, package in (("dbus-daemon", "dbus"), ("busctl", "systemd"), ("chronyd", "chrony")):
        require_program(program, package)  # type: ignore[operator]
    ns = Namespace(mount=True)
    feeder = None
    try:
        # Private mounts: timesyncd's drop-in and state under /run/systemd, seen only in here.
        ns.run(["sh", "-c", "mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/timesyncd.conf.d "
                "/run/systemd/timesync && chown 65534:65534 /run/systemd/timesync && printf "
                "'[Time]\\nNTP=127.0.0.1\\nPollIntervalMinSec=16\\nPollIntervalMaxSec=32\\n' "
                "> /run/systemd/timesyncd.conf.d/test.conf"])
        sockets = Path(subprocess.run(["mktemp", "-d", "/tmp/tsd-XXXXXX"], capture_output=True, text=True,
                                      check=True).stdout.strip())
        sockets.chmod(0o755)
        conf = tmp_path / "chrony.conf"
        conf.write_text(f"allow 127.0.0.1\nbindaddress 127.0.0.1\nport 123\ncmdport 0\n"
                        f"refclock SOCK {sockets}/refclock.sock refid FAKE poll 0 filter 4\n"
                        f"pidfile {tmp_path}/chronyd.pid\ndriftfile {tmp_path}/drift\n")
        ns.spawn(["chronyd", "-x", "-u", "root", "-d", "-f", str(conf)], tmp_path / "chronyd.log")
        feeder = SockFeeder(sockets / "refclock.sock", AHEAD)
        feeder.start()
        wait_for(lambda: ns.run([sys.executable, "-c", PROBE], check=False).returncode == 0,
                 "chronyd to serve +250 ms in the namespace", timeout=30)
        bus = tmp_path / "bus.conf"
        bus.write_text(BUS_CONF.format(socket=sockets / "bus"))
        ns.spawn(["dbus-daemon", "--nofork", f"--config-file={bus}"], tmp_path / "dbus.log")
        env = {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={sockets}/bus"}
        wait_for(lambda: (sockets / "bus").exists(), "the private system bus")
        ns.spawn(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(binary)],
                 tmp_path / "timesyncd.log", env=env)
        yield ns, env
    finally:
        if feeder is not None:
            feeder.stop()
        ns.close()


def packets(env: dict[str, str]) -> int:
    out = subprocess.run(["busctl", "--json=short", "get-property", "org.freedesktop.timesync1",
                          "/org/freedesktop/timesync1", "org.freedesktop.timesync1.Manager", "NTPMessage"],
                         capture_output=True, text=True, env=env, timeout=10).stdout
    return int(json.loads(out)["data"][13]) if out else 0


def test_a_real_timesyncd_following_a_server_250_ms_ahead(timesyncd: tuple[Namespace, dict[str, str]],
                                                         tmp_path: Path) -> None:
    ns, env = timesyncd
    wait_for(lambda: packets(env) > 0, "timesyncd to take a reply", timeout=60)
    config = tmp_path / "agent.toml"
    config.write_text('[agent.clock]\nservers = ["127.0.0.1:123"]\nburst = 2\nburst_spacing = 0.1\n'
                      'interval = 32\n[agent.clock.daemon]\nread = "timesyncd"\n')
    result = ns.run([str(BIN / "chronolog-agent"), "clock", "--once", "--json", "-c", str(config)],
                    check=False, env={**env, "PATH": "/usr/bin:/bin"})
    report = json.loads(result.stdout)
    daemon = report["daemon"]
    assert daemon["daemon"] == "timesyncd" and daemon["synced"] is True, daemon
    assert daemon["reference"] == "127.0.0.1 (FAKE)" and daemon["stratum"] == 1
    assert daemon["offset"] == pytest.approx(-AHEAD, abs=0.002)
    # The audit measures the same: the daemon and the audit agree, both 250 ms behind.
    assert report["offset"] == pytest.approx(-AHEAD, abs=0.002) and report["source"] == "audit"
    assert "disagree" not in (report["reason"] or "")
    assert report["status"] == "over_budget" and result.returncode == 1
