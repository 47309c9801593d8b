"""Suite-wide rules and helpers.

- Under ``CI=true`` a skipped test fails: a skip there hides a missing install step.
- ``require_program`` skips a test whose Debian package is missing, naming it.
- ``daemons`` starts real chronolog processes (collector, agent) and stops them afterwards.
- ``chronyd`` is a real NTP server on loopback; ``scripted`` a FAKE one for replies no real
  server can be made to send.
- ``XDG_CONFIG_HOME`` is an empty directory: the user's ``chronolog`` settings stay out.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# No timing assertions, in property tests either: a loaded machine makes any deadline flaky.
settings.register_profile("chronolog", deadline=None)
settings.load_profile("chronolog")


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

from support.ntp import (  # noqa: E402 (after the loader)
    AHEAD,
    Chronyd,
    ScriptedServer,
    SockFeeder,
    start_true_server,
    synchronised,
)
from support.processes import Daemon, daemon_factory, free_udp_port, wait_for  # noqa: E402

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
def mount_tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mounts real small file systems (tmpfs of a given ``size=``), to run a disk full for real
    (needs root, as in CI); unmounted after the test."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs (make test runs as root in CI)")
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        mount_point = tmp_path / f"tmpfs{len(mounted) or ''}"
        mount_point.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", mount_point], check=True)
        mounted.append(mount_point)
        return mount_point

    try:
        yield mount
    finally:
        for mount_point in mounted:
            subprocess.run(["umount", "-l", mount_point], check=False)


@pytest.fixture
def small_tmpfs(mount_tmpfs: Callable[[str], Path]) -> Path:
    """A real 256 KiB file system."""
    return mount_tmpfs("256k")


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
def chronyd_binary(require_program: Callable[[str, str], str]) -> str:
    return require_program("chronyd", "chrony")


@pytest.fixture
def chronyd_ahead(tmp_path: Path, chronyd_binary: str) -> Iterator[Chronyd]:
    """A real chronyd serving time 250 ms ahead of this machine's clock.

    Its SOCK reference clock is fed "true time = system time + 0.250"; with ``-x`` chronyd keeps
    that correction to itself and serves the corrected time, receive timestamps included (so,
    unlike chronyd under libfaketime, it shows the whole offset: research/peers.md).
    """
    server = Chronyd(chronyd_binary, tmp_path / "ahead",
                     "allow 127.0.0.1\nbindaddress 127.0.0.1\n"
                     "refclock SOCK {refclock} refid FAKE poll 0 filter 4", cmdport=free_udp_port())
    feeder = SockFeeder(server.refclock, AHEAD)
    feeder.start()
    try:
        wait_for(lambda: synchronised(server.port, b"FAKE"), "chronyd to serve +250 ms", timeout=30)
        yield server
    finally:
        feeder.stop()
        server.stop()


@pytest.fixture
def daemons() -> Iterator[Callable[[str, Path, Path], Daemon]]:
    """Make real daemons (``program, config, workdir``); any still running are killed after."""
    with daemon_factory() as make:
        yield make


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Callable[[bytes], bytes | None]], Any]]:
    """Make a scripted server; returns its port (and the server, as ``.server``)."""
    transports = []

    async def make(reply: Callable[[bytes], bytes | None]) -> tuple[int, ScriptedServer]:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(lambda: ScriptedServer(reply),
                                                                  local_addr=("127.0.0.1", 0))
        transports.append(transport)
        return int(transport.get_extra_info("sockname")[1]), protocol

    yield make
    for t in transports:
        t.close()
