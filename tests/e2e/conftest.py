"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support.incident import Incident, start_incident
from support.processes import Daemon


@pytest.fixture
def three_hosts(tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon], chronyd: int,
                require_program: Callable[[str, str], str]) -> Incident:
    """A collector and three agents in three source zones, one 3 s ahead (support/incident.py)."""
    require_program("faketime", "faketime")
    return start_incident(tmp_path, daemons, chronyd)
