"""Retry delays: exponential back-off with jitter, and the collector's ``Retry-After``. Pure."""

from __future__ import annotations

import email.utils
import random

__all__ = ["MAX_RETRY_AFTER", "backoff_delay", "parse_retry_after", "retry_delay"]

# The longest wait a Retry-After is obeyed for: a collector under load asks for seconds; a
# header asking for more (a mistake, a proxy) must not stop delivery for long.
MAX_RETRY_AFTER = 600.0


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random) -> float:
    """Delay before retry number ``attempt`` (0-based): doubling from ``initial`` up to
    ``maximum``, then scaled by a random factor in [0.5, 1) so that agents cut off by the same
    outage do not all come back in the same instant."""
    ceiling = min(maximum, initial * (2 ** min(attempt, 32)))
    return float(ceiling * (0.5 + rng.random() / 2))


def retry_delay(attempt: int, initial: float, maximum: float, rng: random.Random,
                retry_after: float | None) -> float:
    """`backoff_delay`, but never shorter than the collector's ``Retry-After`` (capped at
    `MAX_RETRY_AFTER`): an overloaded collector says when it can take the batch (issue 16)."""
    delay = backoff_delay(attempt, initial, maximum, rng)
    if retry_after is None:
        return delay
    return max(delay, min(retry_after, MAX_RETRY_AFTER))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110: delay-seconds, or an HTTP-date
    compared with ``now``, a Unix time); None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 5322's "UTC, though the zone is unknown"
        return None
    return max(0.0, when.timestamp() - now)
