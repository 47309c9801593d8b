"""Suite-wide rules and helpers.

- Under ``CI=true`` a skipped test fails: a skip there hides a missing install step.
- ``require_program`` skips a test whose Debian package is missing, naming it.
- ``daemons`` starts real chronolog processes (collector, agent) and stops them afterwards.
- ``XDG_CONFIG_HOME`` is an empty directory: the user's ``chronolog`` settings stay out.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def _load_support() -> None:
    """Make ``tests/support`` importable as ``support`` without putting ``tests/`` on
    sys.path: there, ``tests/agent`` and friends would shadow the real packages of the same
    name as namespace packages."""
    init = Path(__file__).resolve().parent / "support" / "__init__.py"
    spec = importlib.util.spec_from_file_location("support", init,
                                                  submodule_search_locations=[str(init.parent)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["support"] = module
    spec.loader.exec_module(module)


_load_support()

from support.ntp import start_true_server  # noqa: E402 (after the loader)
from support.processes import Daemon, wait_for  # noqa: E402

CI = os.environ.get("CI") == "true"

# The user's own `chronolog` settings (~/.config/chronolog/client.toml, perhaps written by
# `make run`) must not steer the tests or their subprocesses: an empty configuration home.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="chronolog-tests-config-")
os.environ.pop("CHRONOLOG_CONFIG", None)
atexit.register(shutil.rmtree, os.environ["XDG_CONFIG_HOME"], True)


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


@pytest.fixture
def chronyd(tmp_path: Path, require_program: Callable[[str, str], str]) -> Iterator[int]:
    """A real chronyd serving NTP on 127.0.0.1 at a free port; yields the port.

    ``-x`` keeps it from ever touching the system clock; it has its own config, pid file and
    drift file, and no command port (support/ntp.py).
    """
    server = start_true_server(require_program("chronyd", "chrony"), tmp_path / "chronyd")
    try:
        yield server.port
    finally:
        server.stop()


@pytest.fixture
def daemons() -> Iterator[Callable[[str, Path, Path], Daemon]]:
    """Make real daemons (``program, config, workdir``); any still running are killed after."""
    started: list[Daemon] = []

    def make(program: str, config: Path, workdir: Path) -> Daemon:
        daemon = Daemon(program, config, workdir)
        started.append(daemon)
        return daemon

    yield make
    for daemon in reversed(started):
        if daemon.running:
            daemon.kill()
