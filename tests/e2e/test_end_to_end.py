"""A real collector and real agents as separate processes on loopback, read back through the
real `chronolog` command."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from support.fleet import Fleet
from support.processes import BIN, Daemon, wait_for


@pytest.fixture
def fleet(tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> Fleet:
    return Fleet(tmp_path, daemons)


def test_lines_written_on_two_hosts_come_back_as_one_timeline(fleet: Fleet) -> None:
    web = fleet.agent("web-1")
    db = fleet.agent("db-2")
    web.write("2026-11-27T00:10:03.500Z GET /login 200",
              "2026-11-27T09:10:05,000 GET /home 200")  # no offset: the source zone (Tokyo)
    # db-2's lines after its first audit failed (a loaded machine can delay it past them, and
    # a line read before it says "not measured yet", rightly).
    wait_for(lambda: db.metric("chronolog_agent_clock_replies_rejected_total") > 0, "db-2's first audit")
    db.write("2026-11-27T09:10:04.250+09:00 SELECT 1", "no timestamp in this one")
    fleet.wait_for_lines(4)

    out = fleet.query("--since", "2026-11-27 09:10", "--until", "2026-11-27 09:11")
    # The agents here reach no NTP server: every line says its clock is unknown; the line
    # without an offset says its zone was assumed.
    assert out.splitlines() == [
        f"2026-11-27T09:10:03.500000+09:00 web-1 file:{web.log}: [clock_unknown] "
        "2026-11-27T00:10:03.500Z GET /login 200",
        f"2026-11-27T09:10:04.250000+09:00 db-2 file:{db.log}: [clock_unknown] "
        "2026-11-27T09:10:04.250+09:00 SELECT 1",
        f"2026-11-27T09:10:05.000000+09:00 web-1 file:{web.log}: [assumed_zone clock_unknown] "
        "2026-11-27T09:10:05,000 GET /home 200",
    ]
    records = [json.loads(x) for x in fleet.query("--since", "1h", "--json", "--host", "db-2").splitlines()]
    assert [(r["msg"], r["ts_source"]) for r in records] == [("no timestamp in this one", "read_time")]
    assert records[0]["clock"]["bound"] is None and "no NTP server answered" in records[0]["clock"]["reason"]
    grep = fleet.query("--since", "2026-11-27 09:00", "--until", "2026-11-27 10:00", "--grep", "SELECT")
    assert grep.count("\n") == 1 and "SELECT 1" in grep


def test_repeated_sigkill_of_the_agent_loses_and_duplicates_nothing(fleet: Fleet) -> None:
    web = fleet.agent("web-1")
    written = 0
    for round_ in range(4):
        arrived = fleet.stream_lines()
        web.write(*(f"2026-11-27T09:00:0{round_}Z round {round_} line {i}" for i in range(5000)))
        written += 5000
        wait_for(lambda arrived=arrived: fleet.stream_lines() > arrived, f"round {round_} to arrive")
        web.daemon.kill()  # usually with lines read but not yet acknowledged
        web.daemon.start()
    fleet.wait_for_lines(written)
    [stream] = fleet.streams()
    assert (stream["lines"], stream["last_seq"], stream["gaps"]) == (written, written - 1, [])
    for round_ in range(4):
        out = fleet.query("--since", "2026-11-27 00:00", "--grep", f"round {round_} ").splitlines()
        assert len(out) == 5000 == len(set(out))


def test_a_collector_outage_delays_lines_but_loses_none(fleet: Fleet) -> None:
    web = fleet.agent("web-1")
    web.write("2026-11-27T09:00:00Z before")
    fleet.wait_for_lines(1)
    fleet.collector.stop()
    web.write(*(f"2026-11-27T09:00:01Z during outage {i}" for i in range(100)))
    wait_for(lambda: "delivery failed; will retry" in web.daemon.log.read_text(), "a failed delivery")
    fleet.collector.start()
    fleet.wait_for_lines(101)
    assert fleet.streams()[0]["gaps"] == []


def test_agent_stops_cleanly_on_sigterm_and_resumes_where_it_was(fleet: Fleet) -> None:
    web = fleet.agent("web-1")
    web.write("2026-11-27T09:00:00Z one")
    fleet.wait_for_lines(1)
    assert web.daemon.stop() == 0
    assert "agent stopping" in web.daemon.log.read_text()
    web.write("2026-11-27T09:00:01Z two")
    web.daemon.start()
    fleet.wait_for_lines(2)
    assert fleet.streams()[0]["lines"] == 2


@pytest.mark.parametrize("args, status, message", [
    (["query", "--since", "10m"], 2, "no credential"),
    (["@investigator", "query", "--since", "yesterday"], 2, "cannot read 'yesterday'"),
    (["@investigator", "query", "--since", "5m", "--until", "10m"], 2, "must be after"),
    (["@investigator", "query", "--since", "1h", "--zone", "Tokio"], 2, "unknown time zone"),
    (["@agent", "query", "--since", "1h"], 1, "HTTP 403"),
    (["--url", "http://127.0.0.1:9", "@investigator", "query", "--since", "1h"], 1,
     "cannot reach the collector"),
    (["querry"], 2, "invalid choice"),
])
def test_query_mistakes_get_one_clear_message(fleet: Fleet, args: list[str], status: int,
                                              message: str) -> None:
    tokens = {"@investigator": fleet.investigator_token, "@agent": fleet.agent_token}
    argv = [str(BIN / "chronolog"), "--url", fleet.url]
    for arg in args:
        argv += ["--token-file", str(tokens[arg])] if arg in tokens else [arg]
    result = subprocess.run(argv, capture_output=True, text=True)
    assert result.returncode == status, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
