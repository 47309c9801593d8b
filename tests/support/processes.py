"""Running real chronolog processes and waiting for things to happen, without timing asserts."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll until ``condition()`` is truthy; fail naming ``what`` if it never is."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line contains ``text`` (from /proc: no procps needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone, or not ours to read
        if text in cmdline:
            found.append(int(entry.name))
    return found


def answers_ok(url: str) -> bool:
    """Whether an HTTP GET of ``url`` answers 200 (a server's readiness endpoint)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    """A real chronolog-agent or chronolog-collector process, its log in ``workdir``."""

    def __init__(self, program: str, config: Path, workdir: Path) -> None:
        self.program = program
        self.config = config
        self.ready_file = workdir / f"{program}.ready"
        self.log = workdir / f"{program}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}

    def start(self, env: dict[str, str] | None = None) -> Daemon:
        self.ready_file.unlink(missing_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [BIN / self.program, "run", "--config", self.config, "--ready-file", self.ready_file],
                stdout=log, stderr=log, env={**os.environ, **(env or {})},
            )

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"{self.program} exited {self.proc.returncode}:\n{self.log.read_text()}")
            return self.ready_file.exists()

        wait_for(ready, f"{self.program} to be ready")
        self.info = json.loads(self.ready_file.read_text())
        return self

    def signal(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)

    def stop(self) -> int:
        return self.signal(signal.SIGTERM)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@contextlib.contextmanager
def daemon_factory() -> Iterator[Callable[[str, Path, Path], Daemon]]:
    """Make real daemons (``program, config, workdir``); any still running are killed on leaving
    (for the ``daemons`` fixture and for module-scoped fixtures that start their own)."""
    started: list[Daemon] = []

    def make(program: str, config: Path, workdir: Path) -> Daemon:
        started.append(Daemon(program, config, workdir))
        return started[-1]

    try:
        yield make
    finally:
        for daemon in reversed(started):
            if daemon.running:
                daemon.kill()
