"""The collector's own rules of what widens exposure (collector.admin.config_audit.RULES)."""

from __future__ import annotations

from chronolog.config_audit import Change, widened
from collector.admin.config_audit import RULES


def test_the_console_turned_on_or_its_sessions_made_longer_widen_exposure() -> None:
    found = [Change("collector.console.enabled", False, True),
             Change("collector.console.session_seconds", 1800, 7200),
             Change("collector.console.enabled", True, False),
             Change("collector.console.session_seconds", 1800, 600)]
    assert [(w["setting"], w["after"]) for w in widened(found, RULES)] == [
        ("collector.console.enabled", True), ("collector.console.session_seconds", 7200)]
