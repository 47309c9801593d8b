"""Clock verification end to end: a real agent auditing a real chronyd, its clock history
shipped to a real collector as the stream ``clock``, and a real step of its clock (the agent
runs under libfaketime, its wall clock read from a file the test rewrites)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.fleet import Fleet
from support.ntp import FAKETIME_LIB
from support.processes import Daemon, wait_for

from chronolog.timefmt import now_us, to_rfc3339


@pytest.fixture
def fleet(tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> Fleet:
    return Fleet(tmp_path, daemons)


def clock_config(port: int) -> str:
    return (f'[agent.clock]\nservers = ["127.0.0.1:{port}"]\nburst = 1\ninterval = 16\ntimeout = 1\n'
            '[agent.clock.daemon]\nread = "none"\n')


def records(fleet: Fleet, host: str, grep: str | None = None) -> list[dict[str, Any]]:
    until = to_rfc3339(now_us() + 3600 * 10**6, "UTC")  # the agent's clock may run ahead
    args = ["--since", "1h", "--until", until, "--json", "--host", host, *(["--grep", grep] if grep else [])]
    return [json.loads(line) for line in fleet.query(*args).splitlines()]


def clock_records(fleet: Fleet, host: str) -> list[dict[str, Any]]:
    return [r for r in records(fleet, host) if r["stream"] == "clock"]


def test_a_step_of_the_agents_clock_is_recorded_and_shifts_every_lines_clock_view(
        fleet: Fleet, chronyd: int, tmp_path: Path, require_program: Callable[[str, str], str]) -> None:
    require_program("faketime", "faketime")
    offset = tmp_path / "faketime"
    offset.write_text("+0\n")
    env = {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME_TIMESTAMP_FILE": str(offset), "FAKETIME_NO_CACHE": "1",
           "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    web = fleet.agent("web-1", clock=clock_config(chronyd), env=env)

    def sampled() -> list[dict[str, Any]]:
        return [r for r in clock_records(fleet, "web-1") if r["fields"].get("kind") == "sample"]

    [first, *_] = wait_for(sampled, "the first clock sample at the collector")
    assert first["fields"]["status"] == "ok" and abs(first["fields"]["offset"]) < 0.002
    assert first["msg"].startswith("clock sample: offset ")

    offset.write_text("+5\n")  # the agent's wall clock jumps 5 s ahead

    def stepped() -> list[dict[str, Any]]:
        return [r for r in clock_records(fleet, "web-1") if r["fields"].get("kind") == "step"]

    [step] = wait_for(stepped, "the step record at the collector")
    assert step["fields"]["seconds"] == pytest.approx(5.0, abs=0.05)
    # The step is measured between two readings of a clock that runs on: +4.99999x or +5.00000x.
    said = re.fullmatch(r"clock step: the wall clock was stepped by ([+-]\d+\.\d{6}) s.*", step["msg"])
    assert said is not None and float(said[1]) == pytest.approx(5.0, abs=0.05), step["msg"]
    web.write("a line read after the step")
    [line] = wait_for(lambda: records(fleet, "web-1", grep="after the step"), "the line after the step")
    # The audit made before the step still holds, moved by the step: this clock is 5 s ahead.
    assert line["clock"]["offset"] == pytest.approx(5.0, abs=0.05)
    assert line["clock"]["status"] == "over_budget" and line["clock"]["bound"] >= 5.0
    status = [r for r in clock_records(fleet, "web-1") if r["fields"].get("kind") == "status"]
    assert [(s["fields"]["from"], s["fields"]["to"]) for s in status][:2] == [("unknown", "ok"),
                                                                            ("ok", "over_budget")]


def test_the_clock_stream_goes_on_after_the_agent_is_killed(fleet: Fleet, chronyd: int) -> None:
    web = fleet.agent("web-1", clock=clock_config(chronyd))

    def started() -> list[dict[str, Any]]:
        return [r for r in clock_records(fleet, "web-1")
                if r["fields"].get("kind") == "status" and r["fields"]["from"] == "unknown"]

    wait_for(started, "the first run's records")
    web.daemon.kill()
    web.daemon.start()
    # The restarted agent numbers after every number it ever sent: its records are new to the
    # collector, not duplicates of the first run's, so they are kept.
    wait_for(lambda: len(started()) == 2, "the second run's records")
    [stream] = [s for s in fleet.streams() if s["stream"] == "clock"]
    assert stream["lines"] == len(clock_records(fleet, "web-1"))
