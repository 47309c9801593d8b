"""Everything the collector reports about itself goes through `Telemetry`: each event updates
its metric and writes its log line in one place, so the handlers stay readable."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter

__all__ = ["Telemetry"]

log = logging.getLogger("collector")


class Telemetry:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self._lines = Counter("chronolog_collector_lines", "Lines received, by result.",
                              ["result"], registry=r)
        self._batches = Counter("chronolog_collector_batches", "Batches stored.", registry=r)
        self._rejected = Counter("chronolog_collector_rejected",
                                 "Requests or chunks refused, by typed reason.", ["reason"], registry=r)
        self._auth = Counter("chronolog_collector_auth_failures",
                             "Requests refused for their credential.", ["reason"], registry=r)
        self._queries = Counter("chronolog_collector_queries", "Queries served.", registry=r)
        for result in ("accepted", "duplicate"):
            self._lines.labels(result)

    def batch_stored(self, accepted: int, duplicates: int) -> None:
        self._batches.inc()
        self._lines.labels("accepted").inc(accepted)
        self._lines.labels("duplicate").inc(duplicates)

    def rejected(self, reason: str, detail: str, count: int = 1) -> None:
        self._rejected.labels(reason).inc(count)
        log.warning("input refused", extra={"reason": reason, "detail": detail})

    def auth_failed(self, reason: str) -> None:
        self._auth.labels(reason).inc()

    def query_served(self, rows: int, matched: int) -> None:
        self._queries.inc()
        log.info("query served", extra={"rows": rows, "matched": matched})
