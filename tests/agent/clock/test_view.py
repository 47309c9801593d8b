"""Composing the published view from the audit and the daemon (pure)."""

from __future__ import annotations

import pytest

from agent.clock.readers import DaemonView
from agent.clock.view import Evidence, compose
from chronolog.clock.bound import Interval, combine

CHRONY = DaemonView("chrony", synced=True, stratum=2, reference="192.0.2.1", offset=0.0005,
                    root_delay=0.002, root_dispersion=0.001, age=10.0)


def evidence(audit: list[Interval] | None, daemon: DaemonView | None = None,
             daemon_reason: str | None = None) -> Evidence:
    combined = combine(audit or [])
    names = tuple(f"s{i}:123" for i in range(len(audit or [])))
    daemon_iv = daemon.interval(100.0) if daemon is not None else None
    return Evidence(combined, None if combined else "no NTP server answered (s0:123: timeout)",
                    names, daemon, daemon_iv, daemon_reason)


def test_the_audit_gives_the_bound_and_the_daemon_the_sync_state() -> None:
    view, summary = compose(evidence([Interval(-0.001, 0.003, 100.0)], CHRONY), 0.05, 0.1)
    assert (view.offset, view.bound, view.source, view.status) == (0.001, 0.003, "audit", "ok")
    assert view.synced is True and view.reason is None
    assert summary.daemon == "chrony" and summary.disagreement is None


def test_without_an_audit_the_daemon_vouches_and_says_so() -> None:
    view, _ = compose(evidence(None, CHRONY), 0.05, 0.1)
    assert view.source == "daemon"
    assert view.bound == pytest.approx(0.0005 + 0.001 + 0.001)
    assert view.reason is not None and "no audit" in view.reason and "chrony's own claim" in view.reason


def test_with_neither_the_view_is_unknown_with_both_reasons_never_zero() -> None:
    view, summary = compose(evidence(None, None, "no time daemon readable (chrony: refused)"), 0.05, 0.1)
    assert view.bound is None and view.offset is None and view.status == "unknown"
    assert view.reason == ("no NTP server answered (s0:123: timeout); "
                           "no time daemon readable (chrony: refused)")
    assert summary.status == "unknown"


def test_daemon_and_audit_disagreeing_beyond_their_bounds_is_flagged() -> None:
    ahead = DaemonView("chrony", synced=True, offset=-0.250, root_delay=0.0, root_dispersion=0.001, age=0.0)
    view, summary = compose(evidence([Interval(-0.001, 0.001, 100.0)], ahead), 0.05, 0.1)
    assert summary.disagreement == pytest.approx(0.248)
    assert view.source == "audit" and view.bound == 0.001
    assert view.reason is not None and "chrony and the audit disagree by 0.248000 s" in view.reason


def test_servers_without_a_majority_widen_the_bound_and_all_are_suspect() -> None:
    view, summary = compose(evidence([Interval(-0.001, 0.001, 100.0), Interval(0.249, 0.251, 100.0)]),
                            0.05, 0.1)
    assert view.bound == 0.251 and view.status == "over_budget"
    assert summary.servers_agree is False and summary.falsetickers == ("s0:123", "s1:123")
