"""Steps, suspends and changes of state, from pairs of readings (pure)."""

from __future__ import annotations

import pytest

from agent.clock.events import ClockReading, Summary, changes, jumps


def reading(real: float, mono: float, boot: float | None = None) -> ClockReading:
    return ClockReading(real, mono, mono if boot is None else boot)


def test_a_step_of_the_wall_clock_is_an_event_with_its_size() -> None:
    [event] = jumps(reading(1000.0, 10.0), reading(1006.0, 11.0), step_threshold=0.01)
    assert event.kind == "step" and event.detail["seconds"] == pytest.approx(5.0)


def test_slewing_and_small_jitter_are_not_steps() -> None:
    # 500 ppm over 60 s of a stalled loop moves realtime 30 ms against monotonic: a slew
    assert jumps(reading(1000.0, 10.0), reading(1060.03, 70.0), step_threshold=0.01) == []
    assert jumps(reading(1000.0, 10.0), reading(1001.005, 11.0), step_threshold=0.01) == []


def test_a_suspend_is_told_apart_from_a_step() -> None:
    before = reading(1000.0, 10.0, boot=10.0)
    resumed = reading(1031.0, 11.0, boot=41.0)  # 30 s asleep, the wall clock kept up
    assert [e.kind for e in jumps(before, resumed, 0.01)] == ["suspend"]
    resumed_wrong = reading(1033.5, 11.0, boot=41.0)  # and the RTC was 2.5 s fast
    events = jumps(before, resumed_wrong, 0.01)
    assert [e.kind for e in events] == ["suspend", "step"]
    assert events[0].detail["seconds"] == pytest.approx(30.0)
    assert events[1].detail["seconds"] == pytest.approx(2.5)


def test_status_sync_reference_and_disagreement_changes_are_events() -> None:
    before = Summary("ok", None, 0.002, True, "chrony", "192.0.2.1")
    after = Summary("over_budget", "x", 0.3, True, "chrony", "192.0.2.2", disagreement=0.25)
    kinds = [e.kind for e in changes(before, after)]
    assert kinds == ["status", "reference_changed", "disagreement"]
    lost = Summary("unknown", "no daemon", None, None, None, None)
    assert [e.kind for e in changes(before, lost)] == ["status", "sync_lost"]
    assert [e.kind for e in changes(lost, before)] == ["status", "sync_regained"]
    assert changes(before, before) == []


def test_servers_disagreeing_is_an_event_once() -> None:
    calm = Summary("ok", servers_agree=True)
    split = Summary("ok", servers_agree=True, falsetickers=("b:123",))
    [event] = changes(calm, split)
    assert event.kind == "servers_disagree" and event.detail["falsetickers"] == ["b:123"]
    assert changes(split, split) == []
    assert [e.kind for e in changes(split, calm)] == ["servers_agree"]
