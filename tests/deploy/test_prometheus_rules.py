"""The shipped alert rules, with the real promtool: they parse, their unit tests pass, every
alert names a runbook that exists, every guarded operation has an alert, and the metrics a
real agent and a real collector serve pass promtool's lint."""

from __future__ import annotations

import math
import re
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from prometheus_client.parser import text_string_to_metric_families
from support.fleet import Fleet
from support.processes import Daemon

from collector.admin.endpoint import GUARDED

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus"


def undocumented(exposition: bytes, prefixes: tuple[str, ...]) -> list[str]:
    """Metric families served with one of ``prefixes`` that docs/metrics.md does not name."""
    docs = (ROOT / "docs" / "metrics.md").read_text()
    families = {f.name for f in text_string_to_metric_families(exposition.decode())}
    return sorted(name for name in families if name.startswith(prefixes) and f"`{name}" not in docs)


@pytest.fixture
def promtool(require_program: Callable[[str, str], str]) -> str:
    return require_program("promtool", "prometheus")


def test_rules_parse(promtool: str) -> None:
    result = subprocess.run([promtool, "check", "rules", "chronolog-rules.yml"], cwd=RULES,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass(promtool: str) -> None:
    result = subprocess.run([promtool, "test", "rules", "chronolog-rules.test.yml"], cwd=RULES,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_runbook_section_and_a_unit_test() -> None:
    rules = yaml.safe_load((RULES / "chronolog-rules.yml").read_text())
    tested = (RULES / "chronolog-rules.test.yml").read_text()
    for group in rules["groups"]:
        for rule in group["rules"]:
            url = rule["annotations"]["runbook_url"]
            page, _, anchor = url.partition("#")
            text = (ROOT / page).read_text()
            assert f"## {anchor}" in text, f"{rule['alert']}: {url} has no section '## {anchor}'"
            assert rule["labels"]["severity"] in ("critical", "warning", "info")
            assert f"alertname: {rule['alert']}" in tested, f"{rule['alert']} has no promtool unit test"


def test_a_real_agents_metrics_pass_promtool_lint(
        tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon], promtool: str) -> None:
    fleet = Fleet(tmp_path, daemons)
    web = fleet.agent("web-1")
    with urllib.request.urlopen(web.daemon.info["metrics"], timeout=10) as response:
        exposition = response.read()
    assert b"chronolog_agent_clock_status" in exposition
    assert undocumented(exposition, ("chronolog_agent_info", "chronolog_agent_queue",
                                     "chronolog_agent_shipping", "chronolog_agent_clock_audit")) == []
    assert b"_created" not in exposition  # prometheus-client's per-counter timestamps are off
    result = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_every_guarded_operation_has_an_alert_and_a_runbook_section() -> None:
    rules = yaml.safe_load((RULES / "chronolog-rules.yml").read_text())
    exprs = " ".join(rule["expr"] for group in rules["groups"] for rule in group["rules"])
    runbook = (ROOT / "docs" / "runbooks" / "guarded.md").read_text()
    for operation in GUARDED:
        assert f'"{operation}"' in exprs or re.search(rf'[~"|]{re.escape(operation)}[|"]', exprs), operation
    for section in ("erase", "retention", "key-rotation", "restore", "credential-revocation",
                    "legal-hold-release"):
        assert f"## {section}\n" in runbook


def test_a_real_collectors_metrics_pass_promtool_lint_and_name_no_tenant(
        tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon], promtool: str) -> None:
    fleet = Fleet(tmp_path, daemons)
    fleet.agent("web-1").write("2026-11-27T09:00:00Z a line")
    fleet.wait_for_lines(1)
    with urllib.request.urlopen(fleet.collector.info["metrics"], timeout=10) as response:
        exposition = response.read()
    assert b"chronolog_collector_guarded_operations_total" in exposition
    last_seen = rb'chronolog_fleet_host_last_seen_timestamp_seconds\{host="web-1",tenant="t-[0-9a-f]{8}"\}'
    assert re.search(last_seen, exposition)  # the tenant by an opaque id
    assert b"city" not in exposition
    assert undocumented(exposition, ("chronolog_fleet_", "chronolog_collector_clock_")) == []
    assert b"_created" not in exposition
    result = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def metric(url: str, name: str) -> float:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found, f"{name} is not served"
    return float(found.group(1))


def not_after(cert: Path) -> float:
    return x509.load_pem_x509_certificate(cert.read_bytes()).not_valid_after_utc.timestamp()


def test_certificate_expiries_are_served_for_the_alert(tmp_path: Path,
                                                       daemons: Callable[[str, Path, Path], Daemon]) -> None:
    fleet = Fleet(tmp_path, daemons, tls=True)
    collector = fleet.collector.info["metrics"]
    server = re.search(r'cert_file = "([^"]+)"', fleet.config.read_text())
    assert server
    own, clients = ("chronolog_collector_tls_certificate_expiry_timestamp_seconds",
                    "chronolog_collector_client_certificates_earliest_expiry_timestamp_seconds")
    assert metric(collector, own) == not_after(Path(server.group(1)))
    assert math.isnan(metric(collector, clients))  # none issued yet
    cert_dir = fleet.issue_certificate("web-1")
    web = fleet.agent("web-1", cert_dir=cert_dir)
    expiry = not_after(cert_dir / "web-1.crt")
    agent = "chronolog_agent_tls_client_certificate_expiry_timestamp_seconds"
    assert metric(web.daemon.info["metrics"], agent) == expiry
    assert metric(collector, clients) == expiry

