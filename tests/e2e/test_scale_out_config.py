"""docs/scale-out.md's collector configuration, checked with the command the document shows,
exactly as written; and the data residency rule: a cluster declared outside the allowed
countries, or not declared at all, is refused with one clear message."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from support.processes import BIN

DOC = Path(__file__).resolve().parents[2] / "docs" / "scale-out.md"


def fenced(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", DOC.read_text(), re.M | re.S)


def check(tmp_path: Path, config: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "scale-out.toml").write_text(config)
    [command] = [line for block in fenced("sh") for line in block.splitlines() if "check-config" in line]
    result = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"})
    assert "Traceback" not in result.stderr
    return result


def test_the_documented_configuration_passes_the_documented_check(tmp_path: Path) -> None:
    [config] = fenced("toml")
    result = check(tmp_path, config)
    assert result.returncode == 0 and "scale-out.toml: ok" in result.stdout, result.stderr


def test_a_cluster_outside_the_allowed_countries_is_refused(tmp_path: Path) -> None:
    [config] = fenced("toml")
    result = check(tmp_path, config.replace('country = "JP"', 'country = "US"'))
    assert result.returncode == 2
    assert "store.jetstream.location is US/Tokyo/tokyo-1, outside residency.allowed_countries ['JP']" \
        in result.stderr
    allowed = config.replace('allowed_countries = ["JP"]', 'allowed_countries = ["JP", "US"]')
    assert check(tmp_path, allowed.replace('country = "JP"', 'country = "US"')).returncode == 0


def test_a_cluster_without_a_declared_location_is_refused(tmp_path: Path) -> None:
    [config] = fenced("toml")
    undeclared = re.sub(r"\[collector\.store\.jetstream\.location\]\n(.+\n)+", "", config)
    result = check(tmp_path, undeclared)
    assert result.returncode == 2 and "needs store.jetstream.location" in result.stderr
