"""The torture scenarios (issue #5): real collector and agent processes on loopback, real
logrotate, real SIGKILL, a real full file system. Each ends with a count: every line written
is at the collector exactly once, or the agent's ledger counts it as dropped with a reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support.fleet import Fleet
from support.processes import Daemon


@pytest.fixture
def fleet(tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> Fleet:
    return Fleet(tmp_path, daemons)
