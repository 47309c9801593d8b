"""Retry delays: exponential back-off with jitter. Pure."""

from __future__ import annotations

import random

__all__ = ["backoff_delay"]


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random) -> float:
    """Delay before retry number ``attempt`` (0-based): doubling from ``initial`` up to
    ``maximum``, then scaled by a random factor in [0.5, 1) so that agents cut off by the same
    outage do not all come back in the same instant."""
    ceiling = min(maximum, initial * (2 ** min(attempt, 32)))
    return float(ceiling * (0.5 + rng.random() / 2))
