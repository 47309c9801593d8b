"""The package boundaries of docs/architecture.md: agent and collector never import each
other, and the shared package imports neither."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"agent": {"collector"}, "collector": {"agent"}, "chronolog": {"agent", "collector"}}


def parsed(path: Path) -> ast.Module:
    """The module's syntax tree. CPython 3.11's AST constructor now and then raises a spurious
    SystemError ("AST constructor recursion depth mismatch", python/cpython#106905; seen once in
    a landing's suite): the parse is pure, so it is tried once more before the test fails."""
    source = path.read_text()
    try:
        return ast.parse(source, str(path))
    except SystemError:
        return ast.parse(source, str(path))


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_boundaries(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if imported_packages(path) & FORBIDDEN[package]
    }
    assert not offenders, f"{package} imports what it must not: {offenders}"


# What an agent without a client certificate never imports, and its share of the agent's 60 MB
# budget (issue 13): aiohttp's client and server (about 14 MB; the agent speaks HTTP itself,
# agent/delivery/connection.py, agent/endpoints.py) and cryptography's bindings (about 9 MB;
# only chronolog.tls.certificate_expiry needs them, for an agent with a client certificate).
HEAVY = ("aiohttp", "cryptography")


@pytest.mark.parametrize("package", HEAVY)
def test_the_agent_runs_without(package: str) -> None:
    probe = ("import sys, agent.app, agent.cli; "
             f"print(sorted(m for m in sys.modules if m.split('.')[0] == {package!r}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_a_collector_on_the_local_store_signs_in_without_the_nats_client(tmp_path: Path) -> None:
    # Its failed-login records are kept under its cluster name (collector/identity.py), which
    # once lived beside the audit copy and brought the NATS client in on the first failure.
    probe = ("import sys, pathlib, collector.app, collector.auth.login\n"
             "from collector.auth.admins import AdminAccounts\n"
             f"print(AdminAccounts(pathlib.Path({str(tmp_path / 'admins.json')!r}), None).collector())\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'nats'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    name, loaded = out.stdout.split("\n")[:2]
    assert name == (tmp_path / "collector-name").read_text().strip() and loaded == "[]"
