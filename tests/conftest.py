"""Suite-wide rules and helpers.

- Under ``CI=true`` a skipped test fails: a skip there hides a missing install step.
- ``require_program`` skips a test whose Debian package is missing, naming it.
- ``daemons`` starts real chronolog processes (collector, agent) and stops them afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent
CI = os.environ.get("CI") == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where a skip hides a missing install step: {reason}"


@pytest.fixture
def require_program() -> Callable[[str, str], str]:
    def require(program: str, package: str) -> str:
        path = shutil.which(program)
        if path is None:
            pytest.skip(f"needs {program} (Debian package {package}; `make test` installs it as root)")
        return path

    return require


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


@pytest.fixture
def wait() -> Callable[..., Any]:
    return wait_for


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 256 KiB file system, to run a disk full for real (needs root, as in CI)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs (make test runs as root in CI)")
    mount_point = tmp_path / "tmpfs"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mount_point], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", mount_point], check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    """A real chronolog-agent or chronolog-collector process."""

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
        return self.proc.wait(timeout=30)

    def stop(self) -> int:
        return self.signal(signal.SIGTERM)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Callable[[str, Path], Daemon]]:
    started: list[Daemon] = []

    def make(program: str, config: Path) -> Daemon:
        daemon = Daemon(program, config, tmp_path)
        started.append(daemon)
        return daemon

    yield make
    for daemon in reversed(started):
        if daemon.running:
            daemon.kill()
