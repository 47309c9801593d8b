"""Lines written by real programs, read back: logger (bsdutils), rsyslog, Python's logging,
coreutils' date. libfaketime puts a writer at a chosen instant (a year's end, a DST overlap);
its clock then runs on, so a line is checked to lie within seconds after that instant.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.ntp import FAKETIME_LIB
from support.processes import free_udp_port, wait_for

from chronolog.timefmt import now_us, parse_rfc3339, to_rfc3339
from chronolog.timestamps import EventTime, Normalizer

US = 1_000_000
Require = Callable[[str, str], str]


def run(*argv: str, zone: str, at: str | None = None) -> str:
    """What a program writes (stdout and stderr), in ``zone``, at the RFC 3339 instant ``at``.

    libfaketime is preloaded with an offset from now rather than started by the ``faketime``
    wrapper: the wrapper names its shared memory by its own pid and exits 1 when a killed
    run's segment of that name is left in /dev/shm, and an offset needs no local time read
    back through a DST overlap."""
    env = {"TZ": zone, "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
    if at is not None:
        ahead_us = parse_rfc3339(at) - now_us()
        env |= {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": f"{ahead_us / US:+.6f}"}
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, f"{argv[0]} exited {done.returncode}: {done.stderr.strip()}"
    return (done.stdout + done.stderr).strip()


def within_seconds_after(event: EventTime, instant: str, seconds: int = 30) -> bool:
    start = parse_rfc3339(instant)
    return start <= event.ts < start + seconds * US


def logger(require: Require, *args: str) -> list[str]:
    # --no-act writes the message to stderr only; a UDP "server" needs no socket to exist.
    return [require("logger", "bsdutils"), "--no-act", "--stderr", "-n", "127.0.0.1", "-P", "9", "-d",
            *args, "-t", "app", "hello"]


def test_logger_rfc3164_at_the_end_of_a_year_read_in_the_new_year(require_program: Require) -> None:
    require_program("faketime", "faketime")
    line = run(*logger(require_program, "--rfc3164"), zone="Asia/Tokyo", at="2026-12-31T23:59:58+09:00")
    assert line.startswith(("<13>Dec 31 23:59:5", "<13>Jan  1 00:00:"))
    event = Normalizer("Asia/Tokyo").normalize(line, parse_rfc3339("2027-01-01T00:00:30+09:00"))
    assert event.source == "inferred_year"
    assert within_seconds_after(event, "2026-12-31T23:59:58+09:00"), to_rfc3339(event.ts, "Asia/Tokyo")


def test_logger_rfc5424_in_a_new_york_overlap_is_explicit(require_program: Require) -> None:
    require_program("faketime", "faketime")
    # 05:30 UTC on 2026-11-01 is 01:30 EDT, the first pass through New York's overlap.
    line = run(*logger(require_program, "--rfc5424"), zone="America/New_York", at="2026-11-01T05:30:00Z")
    event = Normalizer("Asia/Tokyo").normalize(line, parse_rfc3339("2026-11-01T06:00:00Z"))
    assert (event.source, event.flags) == ("explicit", ())
    assert event.raw is not None and event.raw.endswith("-04:00")
    assert within_seconds_after(event, "2026-11-01T05:30:00Z")


@pytest.mark.parametrize(("zone", "at", "flags"), [
    # Second pass through New York's overlap (01:30 EST): the line says 01:30, which is read
    # as the first pass, an hour earlier, and flagged.
    ("America/New_York", "2026-11-01T06:30:00Z", ("dst_ambiguous",)),
    # Lord Howe's 30-minute overlap: 01:45 happens at 14:45Z (+11) and 15:15Z (+10:30).
    ("Australia/Lord_Howe", "2026-04-04T14:45:00Z", ("dst_ambiguous",)),
    ("Australia/Lord_Howe", "2026-11-27T00:14:03Z", ()),
])
def test_python_logging_local_times_follow_the_dst_rule(
        require_program: Require, zone: str, at: str, flags: tuple[str, ...]) -> None:
    require_program("faketime", "faketime")
    code = ("import logging; logging.basicConfig(format='%(asctime)s %(levelname)s %(message)s', "
            "level=logging.INFO); logging.info('ready')")
    line = run(sys.executable, "-c", code, zone=zone, at=at)
    event = Normalizer(zone).normalize(line, parse_rfc3339(at))
    assert (event.source, event.flags) == ("assumed_zone", flags)
    first_pass = parse_rfc3339(at) - (3600 if zone == "America/New_York" and flags else 0) * US
    assert first_pass <= event.ts < first_pass + 30 * US, line


@pytest.mark.parametrize("argv", [
    ["date", "-R"], ["date", "--rfc-3339=ns"], ["date", "+%s"], ["date", "+%s%3N"], ["date", "+%s%N"],
    ["date", "+%Y-%m-%dT%H:%M:%S%z"], ["date", "+%a %b %e %H:%M:%S %Y"], ["date", "+%d/%b/%Y:%H:%M:%S %z"],
])
def test_coreutils_date_output_reads_back(require_program: Require, argv: list[str]) -> None:
    require_program("faketime", "faketime")
    line = run(*argv, zone="Australia/Lord_Howe", at="2026-11-27T00:14:03Z")
    read = parse_rfc3339("2026-11-27T00:15:00Z")
    event = Normalizer("Australia/Lord_Howe").normalize(line + " message", read)
    assert event.source in ("explicit", "assumed_zone") and event.raw is not None, line
    assert within_seconds_after(event, "2026-11-27T00:14:03Z"), line


def test_rsyslog_traditional_and_rfc3339_files_give_the_same_instants(
        require_program: Require, tmp_path: Path) -> None:
    rsyslogd = require_program("rsyslogd", "rsyslog")
    port = free_udp_port()
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(f"""
global(workDirectory="{tmp_path}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{port}")
*.* action(type="omfile" file="{tmp_path}/traditional.log" template="RSYSLOG_TraditionalFileFormat")
*.* action(type="omfile" file="{tmp_path}/precise.log" template="RSYSLOG_FileFormat")
""")
    env = {"TZ": "America/New_York", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
    daemon = subprocess.Popen([rsyslogd, "-n", "-f", str(conf), "-i", str(tmp_path / "rsyslogd.pid")],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    logger = require_program("logger", "bsdutils")

    def send(message: str) -> None:
        subprocess.run([logger, "-n", "127.0.0.1", "-P", str(port), "-d", "--rfc3164", "-t", "app", message],
                       env=env, check=True, timeout=30)

    def written(message: str) -> bool:
        files = [tmp_path / "precise.log", tmp_path / "traditional.log"]
        return all(f.exists() and message in f.read_text() for f in files)

    try:
        # UDP: until rsyslogd listens, what is sent is lost; probe until a probe arrives.
        wait_for(lambda: send("probe") or written("probe"), "rsyslogd to receive on loopback")
        sent = time.time_ns() // 1000
        for i in range(3):
            send(f"message {i}")
        wait_for(lambda: written("message 2"), "rsyslogd to write both files")
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    read = time.time_ns() // 1000
    traditional = [x for x in (tmp_path / "traditional.log").read_text().splitlines() if "message" in x]
    precise = [x for x in (tmp_path / "precise.log").read_text().splitlines() if "message" in x]
    assert len(traditional) == len(precise) == 3
    old, new = Normalizer("America/New_York"), Normalizer("America/New_York")
    for t_line, p_line in zip(traditional, precise, strict=True):
        t_event, p_event = old.normalize(t_line, read), new.normalize(p_line, read)
        assert (t_event.source, p_event.source) == ("inferred_year", "explicit")
        assert t_event.ts == p_event.ts - p_event.ts % US  # the traditional format has no fraction
        assert sent - US <= p_event.ts <= read + US
