"""What `make package` builds: lint-clean, complete, nothing of the build machine inside, and an
SBOM that lists exactly what is bundled at the versions the lock pins."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from support.docs import ROOT

LOCK = ROOT / "packaging" / "requirements.lock"


def normal(name: str) -> str:
    """A distribution's name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", LOCK.read_text(), re.M)
    return {normal(name): version for name, version in found}


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    pinned = pins()
    for text in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        requirement = Requirement(text)
        name = normal(requirement.name)
        assert name in pinned, f"{name} is not in {LOCK.name}: run `make lock`"
        assert requirement.specifier.contains(pinned[name]), \
            f"{name}=={pinned[name]} breaks {text}: `make lock`"
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", LOCK.read_text())
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)


def test_lintian_finds_no_error_and_no_warning(deb: Path) -> None:
    if shutil.which("lintian") is None:
        pytest.skip("needs lintian (Debian package lintian; `make test` installs it as root)")
    report = subprocess.run(["lintian", "--tag-display-limit", "0", deb], capture_output=True, text=True)
    found = [line for line in report.stdout.splitlines() if line.startswith(("E:", "W:"))]
    assert not found, "\n".join(found)


def test_the_package_holds_what_the_units_and_docs_need_and_no_build_paths(deb: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    subprocess.run(["dpkg-deb", "-x", deb, tree], check=True)
    for program in ("chronolog", "chronolog-agent", "chronolog-collector"):
        link = tree / "usr/bin" / program
        assert link.is_symlink() and str(link.readlink()) == f"../lib/chronolog/venv/bin/{program}"
        assert (tree / "usr/share/man/man1" / f"{program}.1.gz").is_file()
    for unit in (ROOT / "systemd").glob("*.service"):
        assert (tree / "lib/systemd/system" / unit.name).read_text() == unit.read_text()
        for doc in re.findall(r"file:///(\S+)", unit.read_text()):
            assert (tree / doc).is_file(), f"{unit.name} points at /{doc}, not in the package"
    assert (tree / "etc/chronolog/chronolog.toml").read_text() == (ROOT / "config.example.toml").read_text()
    for private in ("etc/chronolog/agent", "etc/chronolog/collector"):
        assert (tree / private).stat().st_mode & 0o777 == 0o700
    control = subprocess.run(["dpkg-deb", "-I", deb, "conffiles"], capture_output=True, text=True).stdout
    assert control.split() == ["/etc/chronolog/chronolog.toml"]
    assert not list(tree.rglob("__pycache__")), "byte code is made by postinst, on the host"
    stage = str(ROOT / "build").encode()
    leaks = [p for p in tree.rglob("*") if p.is_file() and not p.is_symlink() and stage in p.read_bytes()]
    assert not leaks, f"files naming the build directory: {leaks[:5]}"


def test_the_sbom_lists_exactly_what_is_bundled_at_the_locked_versions(deb: Path, tmp_path: Path) -> None:
    subprocess.run(["dpkg-deb", "-x", deb, tmp_path], check=True)
    sbom = json.loads((tmp_path / "usr/share/doc/chronolog/sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["metadata"]["component"]["name"] == "chronolog"
    listed = {normal(c["name"]): c["version"] for c in sbom["components"]}
    site = tmp_path / "usr/lib/chronolog/venv/lib/python3.11/site-packages"
    found = [re.fullmatch(r"(.+?)-(\d[^-]*)\.dist-info", p.name) for p in site.glob("*.dist-info")]
    bundled = {normal(m.group(1)): m.group(2) for m in found if m}
    assert len(bundled) == len(found)
    assert listed == {name: v for name, v in bundled.items() if name != "chronolog"}
    assert listed == pins()
    assert all(c["purl"] == f"pkg:pypi/{normal(c['name'])}@{c['version']}" for c in sbom["components"])
