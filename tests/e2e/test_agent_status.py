"""``chronolog-agent status``: the ledger and the spool of a running agent."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from support.fleet import Fleet
from support.processes import BIN, Daemon, free_port


@pytest.fixture
def fleet(tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> Fleet:
    return Fleet(tmp_path, daemons)


def status(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN / "chronolog-agent", "status", *args], capture_output=True, text=True)


def test_status_shows_each_streams_ledger_and_the_spool(fleet: Fleet) -> None:
    web = fleet.agent("web-1")
    web.write("one", "two", "x" * (2 << 20))  # the last is cut to max_line_bytes
    fleet.wait_for_lines(3)
    base = web.daemon.info["status"].removesuffix("/status")
    doc = json.loads(status("--url", base, "--json").stdout)
    [stream] = doc["streams"]
    assert (stream["read"], stream["truncated"], stream["acked"], stream["dropped"]) == (3, 1, 3, {})
    assert doc["spool"]["batches"] == 0 and doc["spool"]["when_full"] == "block"
    text = status("--url", base).stdout
    assert f"file:{web.log}" in text and "spool: 0 batches" in text


def test_status_of_an_agent_that_is_not_running_is_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent.metrics]\nlisten = "127.0.0.1:{free_port()}"\n')
    result = status("-c", str(config))
    assert result.returncode == 1 and "cannot reach the agent" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
