"""User mistakes at the daemons' command lines: one clear message, a non-zero status, no
traceback."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from support.processes import BIN


def run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stderr
    return result


@pytest.mark.parametrize("program", ["chronolog-agent", "chronolog-collector"])
def test_check_config_accepts_the_example_and_rejects_a_mistake(program: str, tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    assert run(BIN / program, "check-config", example).returncode == 0
    section = program.split("-")[1]
    bad = tmp_path / "bad.toml"
    bad.write_text(f"[{section}]\nlog_level = 'chatty'\nsurprise = 1\n")
    result = run(BIN / program, "check-config", bad)
    assert result.returncode == 2
    assert f"{section}.log_level = 'chatty'" in result.stderr
    assert f"{section}.surprise: unknown key" in result.stderr


@pytest.mark.parametrize("program", ["chronolog-agent", "chronolog-collector"])
def test_bad_command_lines(program: str, tmp_path: Path) -> None:
    assert run(BIN / program).returncode == 2
    assert run(BIN / program, "fly").returncode == 2
    result = run(BIN / program, "run", "--config", tmp_path / "absent.toml")
    assert result.returncode == 2 and "no such file" in result.stderr


def test_agent_without_its_token_file_says_so(tmp_path: Path) -> None:
    config = tmp_path / "a.toml"
    config.write_text(f'[agent]\nstate_dir = "{tmp_path}"\n[agent.collector]\n'
                      f'token_file = "{tmp_path / "missing.token"}"\n[agent.metrics]\nenabled = false\n'
                      "[agent.journald]\nenabled = false\n")
    result = run(BIN / "chronolog-agent", "run", "--config", config)
    assert result.returncode == 1
    assert "cannot read the collector token" in result.stderr and "missing.token" in result.stderr


def test_collector_on_a_port_in_use_says_which(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "c.toml"
        config.write_text(f'[collector]\ndata_dir = "{tmp_path / "data"}"\n[collector.api]\n'
                          f'listen = "127.0.0.1:{port}"\n[collector.metrics]\nenabled = false\n'
                          f'[collector.keys]\nmaster_key_file = "{tmp_path / "master.key"}"\n')
        assert run(BIN / "chronolog-collector", "keys", "-c", config, "init").returncode == 0
        result = run(BIN / "chronolog-collector", "run", "--config", config)
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr


def test_issuing_a_credential_never_overwrites_a_token_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[collector]\ndata_dir = "{tmp_path}"\n')
    token = tmp_path / "t"
    args = ["credentials", "-c", config, "issue", "--tenant", "city", "--role", "agent", "--name", "a"]
    assert run(BIN / "chronolog-collector", *args, "--token-file", token).returncode == 0
    assert oct(token.stat().st_mode & 0o777) == "0o600"
    first = token.read_text()
    result = run(BIN / "chronolog-collector", *args, "--token-file", token)
    assert result.returncode == 1 and "already exists" in result.stderr
    assert token.read_text() == first
    bad = run(BIN / "chronolog-collector", "credentials", "-c", config, "issue", "--tenant", "../x",
              "--role", "agent", "--name", "a")
    assert bad.returncode == 1 and "invalid tenant name" in bad.stderr
