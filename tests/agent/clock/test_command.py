"""``chronolog-agent clock --once``: the real command against real servers on loopback; exit
0 within budget, 1 over it, 2 unknown (and 2, with one line, for a usage mistake)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.ntp import AHEAD, Chronyd
from support.processes import BIN

FAST = '[agent.clock]\nburst = 2\nburst_spacing = 0.05\ninterval = 32\ntimeout = 0.5\n' \
       '[agent.clock.daemon]\nread = "none"\n'


def clock(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [str(BIN / "chronolog-agent"), "clock", "--once", *args]
    if config is not None:
        argv += ["-c", str(config)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


@pytest.fixture
def fast(tmp_path: Path) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(FAST)
    return path


def report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.stderr == ""
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_within_budget_is_exit_0_with_every_sample(chronyd: int, fast: Path) -> None:
    result = clock("--json", "--server", f"127.0.0.1:{chronyd}", config=fast)
    r = report(result)
    assert result.returncode == 0 and r["status"] == "ok" and r["source"] == "audit"
    assert abs(r["offset"]) < 0.002 and r["bound"] >= abs(r["offset"])
    [server] = r["servers"]
    assert len(server["samples"]) == 2 and server["truechimer"] and server["rejected"] == {}
    assert r["daemon"] == {"error": "reading the time daemon is switched off (clock.daemon.read = none)"}
    assert r["kernel"]["state"] in ("ok", "error", "insert_second", "delete_second")
    assert r["budget"] == 0.1 and r["warn"] == 0.05


def test_over_budget_is_exit_1_and_the_bound_holds_the_true_error(chronyd_ahead: Chronyd, fast: Path) -> None:
    result = clock("--json", "--server", f"127.0.0.1:{chronyd_ahead.port}", config=fast)
    r = report(result)
    assert result.returncode == 1 and r["status"] == "over_budget"
    assert r["offset"] == pytest.approx(-AHEAD, abs=0.002) and r["bound"] >= AHEAD


def test_unknown_is_exit_2_with_the_reason(fast: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:
        quiet.bind(("127.0.0.1", 0))
        server = f"127.0.0.1:{quiet.getsockname()[1]}"
        result = clock("--server", server, config=fast)
    assert result.returncode == 2
    assert result.stdout.startswith(f"clock: unknown (no NTP server answered ({server}: timeout")


def test_the_embedded_defaults_work_without_a_config_file(chronyd: int) -> None:
    result = clock("--server", f"127.0.0.1:{chronyd}")  # 4 requests 2 s apart: NICT's pace
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("clock: ok: offset ")
    # Four requests, as the embedded defaults say; on a loaded machine one may time out.
    assert re.search(rf"server 127\.0\.0\.1:{chronyd}: offset .*[1-4]/4 good", result.stdout), result.stdout


@pytest.mark.parametrize("args, message", [
    (["--server", "ntp.example:99999"], "chronolog-agent: --server: expected HOST or HOST:PORT, got"),
    (["--bogus"], "chronolog-agent: unrecognized arguments: --bogus"),
])
def test_usage_mistakes_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = clock(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
