"""The syslog input with the real `logger` as the sender, over UDP and TCP, into a real
collector."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from support.fleet import AgentHandle, Fleet
from support.processes import Daemon, wait_for

from chronolog.timefmt import parse_rfc3339

SYSLOG = '[agent.syslog]\nenabled = true\nudp = "127.0.0.1:0"\ntcp = "127.0.0.1:0"\nzone = "Asia/Tokyo"\n'


@pytest.fixture
def fleet(tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> Fleet:
    return Fleet(tmp_path, daemons)


def logger(agent: AgentHandle, transport: str, *args: str) -> None:
    host, port = agent.daemon.info[f"syslog_{transport}"].rsplit(":", 1)
    # logger writes RFC 3164 times in its local zone: the one the input is configured with.
    subprocess.run(["logger", "--server", host, "--port", port, f"--{transport}", *args], check=True,
                   env={**os.environ, "TZ": "Asia/Tokyo"})


def test_rfc5424_and_rfc3164_over_tcp_and_udp_keep_their_header_fields(
        fleet: Fleet, require_program: Callable[[str, str], str]) -> None:
    require_program("logger", "bsdutils")
    web = fleet.agent("web-1", extra=SYSLOG)
    logger(web, "tcp", "--rfc5424", "--octet-count", "--msgid", "ID7", "--sd-id", "origin@32473",
           "--sd-param", 'zone="a b"', "-t", "billing", "-p", "auth.err", "octet-counted over tcp")
    logger(web, "tcp", "--rfc5424", "-t", "billing", "-p", "local3.info", "newline-framed over tcp")
    logger(web, "udp", "--rfc3164", "-t", "cron", "-p", "cron.notice", "bsd format over udp")
    fleet.wait_for_lines(3)
    by_msg = {r["msg"]: r for r in fleet.records()}
    octet = by_msg["octet-counted over tcp"]
    assert octet["stream"] == "syslog" and octet["ts_source"] == "explicit"
    fields = octet["fields"]
    assert (fields["facility"], fields["severity"], fields["app"], fields["msgid"]) == (
        "auth", "err", "billing", "ID7")
    assert fields["sd"]["origin@32473"] == {"zone": "a b"} and fields["syslog_format"] == "rfc5424"
    assert by_msg["newline-framed over tcp"]["fields"]["facility"] == "local3"
    bsd = by_msg["bsd format over udp"]["fields"]
    assert (bsd["syslog_format"], bsd["app"], bsd["facility"], bsd["severity"]) == (
        "rfc3164", "cron", "cron", "notice")
    # RFC 3164 has no year and no zone: the engine infers the year, and says so.
    bsd_record = by_msg["bsd format over udp"]
    assert bsd_record["ts_source"] == "inferred_year"
    event, read = (parse_rfc3339(bsd_record[k]) for k in ("ts", "read_time"))
    assert abs(event - read) < 5_000_000  # logger stamps whole seconds, just before the read
    assert web.ledger("syslog")["spooled"] == 3  # a generated stream is spooled before sending


def test_after_a_sigkill_syslog_numbering_resumes_past_every_number_used(fleet: Fleet) -> None:
    web = fleet.agent("web-1", extra=SYSLOG)

    def send(first: int, n: int) -> None:
        host, port = web.daemon.info["syslog_tcp"].rsplit(":", 1)
        with socket.create_connection((host, int(port))) as s:
            s.sendall(b"".join(f"<14>1 - h app - - - line {i}\n".encode() for i in range(first, first + n)))

    send(0, 500)
    fleet.wait_for_lines(500)
    web.daemon.kill()
    web.daemon.start()
    send(500, 500)
    fleet.wait_for_lines(1000)  # numbers reused after the restart would be dropped as duplicates
    messages = fleet.messages()
    assert sorted(messages, key=lambda m: int(m.split()[1])) == [f"line {i}" for i in range(1000)]
    wait_for(lambda: web.ledger("syslog")["acked"] == 1000, "the ledger, kept across the restart")
