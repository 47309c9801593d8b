"""The shipped units stay hardened, as `systemd-analyze security` measures them."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parent.parent / "systemd"
MAX_EXPOSURE = 2.0  # systemd's scale: 0 (locked down) to 10 (unprotected); below 2 is "OK"


@pytest.mark.parametrize("unit", ["chronolog-agent.service", "chronolog-collector.service"])
def test_unit_exposure_is_low(unit: str, require_program: Callable[[str, str], str]) -> None:
    analyze = require_program("systemd-analyze", "systemd")
    result = subprocess.run([analyze, "security", "--offline=true", str(UNITS / unit)],
                            capture_output=True, text=True)
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE


def test_the_collector_may_hold_many_connections() -> None:
    """Issue 16: the soft limit of 1024 descriptors runs out under a few hundred slow clients."""
    match = re.search(r"^LimitNOFILE=(\d+)$", (UNITS / "chronolog-collector.service").read_text(), re.M)
    assert match and int(match.group(1)) >= 65536


def test_units_run_what_they_check() -> None:
    for unit in UNITS.glob("*.service"):
        text = unit.read_text()
        program = unit.stem
        assert f"ExecStartPre=/usr/bin/{program} check-config" in text
        assert f"ExecStart=/usr/bin/{program} run --config" in text
