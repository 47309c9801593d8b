"""`make run`'s own choices (tools/run_local.py): ports and the `chronolog` settings it writes.
The whole run, as a newcomer uses it, is tests/e2e/test_make_run.py."""

from __future__ import annotations

import socket
from pathlib import Path
from types import ModuleType

import pytest
from support.tools import load_tool

from chronolog.cli.settings import load_settings


def run_local() -> ModuleType:
    return load_tool("run_local")


def test_a_port_left_in_time_wait_is_still_taken() -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the side that closes first keeps the port in TIME-WAIT
    client.close()
    server.close()
    assert run_local().free_or_any(port) == port


def test_settings_are_written_for_chronolog_unless_the_user_has_their_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    module = run_local()
    module.VAR = tmp_path / "var"
    assert module.write_client_settings("http://127.0.0.1:18470") is True
    settings = load_settings()
    assert settings.url == "http://127.0.0.1:18470"
    assert settings.token_file == tmp_path / "var" / "investigator.token"
    assert module.write_client_settings("http://127.0.0.1:18471") is True  # ours: rewritten
    assert load_settings().url == "http://127.0.0.1:18471"
    own = tmp_path / "config" / "chronolog" / "client.toml"
    own.write_text('[client]\nurl = "https://collector.example:8470"\n')
    assert module.write_client_settings("http://127.0.0.1:18472") is False
    assert load_settings().url == "https://collector.example:8470"
