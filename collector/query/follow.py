"""Following a tenant live (``GET /v1/tail``) and counting lines per step and host
(``GET /v1/count``): the row-level work, apart from HTTP. Pure.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from chronolog.wire import Batch
from collector.query.clocks import from_values
from collector.query.engine import Row
from collector.query.match import Matcher
from collector.query.spec import QuerySpec
from collector.store.lines import LineBlock

__all__ = ["Counts", "live_rows"]


def live_rows(arrived: list[tuple[int, Batch]], spec: QuerySpec, matcher: Matcher, now: int,
              seen: set[tuple[str, str, int]]) -> Iterator[Row]:
    """The lines of batches just stored that the query keeps, in arrival order, flagged as a
    query flags them; ``seen``: lines already given (skipped)."""
    block = LineBlock.from_batches(arrived)
    for i in range(len(block)):
        host, stream, agent, _, clock = block.origin_brief(block.origin[i])
        if (spec.hosts and host not in spec.hosts) or (spec.streams and stream not in spec.streams):
            continue
        seq = block.seq[i]
        if (agent, stream, seq) in seen or not matcher.matches(block.message(i)):
            continue
        correction = from_values(clock)
        t = block.ts[i]
        flags = ["future"] if t > now else []
        status = correction.status if correction is not None else "unknown"
        if status in ("over_budget", "unknown"):
            flags.append(f"clock_{status}")
        yield Row((t, host, stream, agent, seq), block, i, correction, flags)


@dataclass
class Counts:
    """Lines per step (from ``since``) and host."""

    since: int
    step: int  # microseconds
    counts: collections.Counter[tuple[int, str]]

    @classmethod
    def of(cls, rows: Iterable[Row], since: int, step: int) -> Counts:
        counts: collections.Counter[tuple[int, str]] = collections.Counter()
        for row in rows:
            t = row.key[0]
            counts[(since + (t - since) // step * step, row.key[1])] += 1
        return cls(since, step, counts)

    def items(self) -> list[tuple[int, str, int]]:
        """``(bucket start, host, lines)`` in time order, then host."""
        return sorted((b, h, n) for (b, h), n in self.counts.items())
