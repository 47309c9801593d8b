"""Shared by the timestamp tests: a spread of zones and a pytz oracle for local times."""

from __future__ import annotations

import datetime as dt

import pytz

# Whole-hour, half-hour and 45-minute offsets; DST north and south; Lord Howe's 30-minute
# DST; zones that changed their standard offset; the widest offsets.
ZONES = [
    "UTC", "Asia/Tokyo", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
    "America/St_Johns", "Pacific/Chatham", "Europe/London", "Australia/Sydney",
    "America/Sao_Paulo", "Asia/Kathmandu", "Pacific/Kiritimati", "Pacific/Pago_Pago",
    "Europe/Moscow", "Pacific/Apia",
]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def us(aware: dt.datetime) -> int:
    """µs since the epoch of an aware datetime."""
    delta = aware - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def oracle(naive: dt.datetime, zone: str) -> tuple[int, tuple[str, ...]]:
    """The documented rule, straight from pytz: an overlap takes the earlier instant, a gap
    the offset before it; with the flag that says so."""
    tz = pytz.timezone(zone)
    try:
        return us(tz.localize(naive, is_dst=None)), ()
    except pytz.AmbiguousTimeError:
        return us(tz.localize(naive, is_dst=True)), ("dst_ambiguous",)
    except pytz.NonExistentTimeError:
        return us(tz.localize(naive, is_dst=False)), ("dst_nonexistent",)


def transitions(zone: str, first: int = 1971, last: int = 2037) -> list[dt.datetime]:
    """The zone's UTC transition times between two years (pytz's table, read only to aim
    tests at DST edges)."""
    table = getattr(pytz.timezone(zone), "_utc_transition_times", [])
    return [t for t in table if dt.datetime(first, 1, 1) < t < dt.datetime(last, 1, 1)]


def near_a_change(zone: str, utc: dt.datetime, seconds: int) -> dt.datetime:
    """The local wall time ``seconds`` from the change at ``utc`` (as the wall read before it)."""
    before = pytz.timezone(zone).utcoffset(utc - dt.timedelta(days=2))
    return (utc + before + dt.timedelta(seconds=seconds)).replace(microsecond=0)


EDGES = [(zone, t) for zone in ZONES for t in transitions(zone)]
