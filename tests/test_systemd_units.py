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
        assert f"ExecStartPre={program} check-config /etc/chronolog/chronolog.toml\n" in text
        assert f"ExecStart={program} run --config /etc/chronolog/chronolog.toml\n" in text


def test_the_documentation_units_name_is_what_the_package_installs() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs"
    for unit in UNITS.glob("*.service"):
        links = re.findall(r"file:///usr/share/doc/chronolog/(\S+)", unit.read_text())
        assert links, unit.name
        for link in links:  # packaging/build.py installs docs/ there as it is
            assert (docs / link).is_file(), f"{unit.name}: Documentation= names {link}, not in docs/"
