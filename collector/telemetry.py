"""Everything the collector reports about itself goes through `Telemetry`: each event updates
its metric and writes its log line in one place, so the handlers stay readable.

No metric carries a tenant name as a label (#6): whoever reads /metrics learns counts across
tenants, never which tenants exist. Which tenant is concerned goes to the log line and the
admin API."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

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
        # The store (collector.store.StoreEvents) and administration.
        self._sealed = Counter("chronolog_collector_segments_sealed", "Segments sealed.", registry=r)
        self._sealed_lines = Counter("chronolog_collector_sealed_lines", "Lines sealed into segments.",
                                     registry=r)
        self._stored_bytes = Counter("chronolog_collector_segment_bytes",
                                     "Bytes written as segments (compressed, encrypted).", registry=r)
        self._damage = Counter("chronolog_collector_store_damage",
                               "Stored data found damaged or altered (blocks, frames, files).", registry=r)
        self._expired = Counter("chronolog_collector_segments_expired", "Segments removed by retention.",
                                registry=r)
        self._admin = Counter("chronolog_collector_admin_operations",
                              "Administrative operations, by action and outcome (done, dry_run, ...).",
                              ["action", "outcome"], registry=r)
        self._findings = Gauge("chronolog_collector_verify_findings",
                               "Findings of the latest verify of every tenant, summed (0: all clean).",
                               registry=r)
        self._findings_by_tenant: dict[str, int] = {}  # kept here, never exported by tenant
        # Security (docs/security.md).
        self._guarded = Counter(
            "chronolog_collector_guarded_operations",
            "Guarded operations (erase, retention, key rotation, restore, revocation, hold release) by "
            "outcome, counted from the audit trail: a restart recounts it, so one done while the "
            "collector was stopped still shows.", ["operation", "outcome"], registry=r)
        self._logins = Counter("chronolog_collector_admin_logins",
                               "Administrator login attempts, by result (accepted, wrong, replayed, "
                               "throttled).", ["result"], registry=r)
        self._trail = Gauge("chronolog_collector_audit_trail_findings",
                            "Breaks found in the audit trail's hash chain at start-up (0: intact).",
                            registry=r)
        self._signins = Counter("chronolog_collector_console_signins",
                                "Investigator sign-ins to the console, by result (accepted, wrong, "
                                "replayed, throttled).", ["result"], registry=r)
        for result in ("accepted", "wrong", "replayed", "throttled"):
            self._logins.labels(result)
            self._signins.labels(result)
        self._widened = Counter(
            "chronolog_collector_config_exposure_widened",
            "Configuration changes found at a start that widen exposure, by setting, counted from the "
            "audit trail (a restart recounts it).", ["setting"], registry=r)

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

    # ---- collector.store.StoreEvents ----

    def segment_sealed(self, tenant: str, lines: int, raw_bytes: int, stored_bytes: int) -> None:
        self._sealed.inc()
        self._sealed_lines.inc(lines)
        self._stored_bytes.inc(stored_bytes)
        log.info("segment sealed", extra={"tenant": tenant, "lines": lines, "raw_bytes": raw_bytes,
                                          "bytes": stored_bytes})

    def damage_found(self, tenant: str, where: str, detail: str) -> None:
        self._damage.inc()
        log.error("stored data damaged", extra={"tenant": tenant, "where": where, "detail": detail})

    def segments_expired(self, tenant: str, count: int) -> None:
        self._expired.inc(count)
        log.info("segments expired", extra={"tenant": tenant, "segments": count})

    # ---- administration ----

    def admin_operation(self, action: str, outcome: str) -> None:
        self._admin.labels(action, outcome).inc()

    def verified(self, tenant: str, findings: int) -> None:
        self._findings_by_tenant[tenant] = findings
        self._findings.set(sum(self._findings_by_tenant.values()))
        if findings:
            log.error("verify found alterations", extra={"tenant": tenant, "findings": findings})

    # ---- security ----

    def guarded_operations_known(self, operations: tuple[str, ...]) -> None:
        """Export every operation's series from the start (at 0), so the first one done after
        a restart is an increase Prometheus can see."""
        for operation in operations:
            for outcome in ("done", "dry_run", "refused", "failed"):
                self._guarded.labels(operation, outcome)

    def guarded_operation(self, operation: str, outcome: str) -> None:
        """Counted from audit entries (those of earlier runs too, at start): no log line here,
        the audit trail is the record."""
        self._guarded.labels(operation, outcome).inc()

    def config_settings_known(self, settings: list[str]) -> None:
        """Export every setting's series from the start (at 0), as for guarded operations."""
        for setting in settings:
            self._widened.labels(setting)

    def config_exposure_widened(self, setting: str) -> None:
        """Counted from audit entries, those of earlier starts too: the entry is the record."""
        self._widened.labels(setting).inc()

    def admin_login(self, result: str, user: str) -> None:
        self._logins.labels(result).inc()
        (log.info if result == "accepted" else log.warning)(
            "administrator login", extra={"result": result, "user": user[:64]})

    def console_signin(self, result: str, user: str) -> None:
        self._signins.labels(result).inc()
        (log.info if result == "accepted" else log.warning)(
            "console sign-in", extra={"result": result, "user": user[:64]})

    def audit_trail_checked(self, findings: list[str]) -> None:
        self._trail.set(len(findings))
        for finding in findings:
            log.error("audit trail damaged", extra={"finding": finding})

    def watch_backlog(self, backlog: Callable[[], tuple[int, int | None]]) -> None:
        """How far sealing trails ingest (the local store): WAL bytes not sealed yet, and when
        the oldest unsealed WAL file was opened. Sealers run niced, behind acknowledgements, so
        a backlog is normal under load; one that only grows fills the disk and slows queries."""
        Gauge("chronolog_collector_unsealed_bytes", "Bytes of WAL not sealed into segments yet, all tenants.",
              registry=self.registry).set_function(lambda: backlog()[0])

        def oldest() -> float:
            found = backlog()[1]
            return math.nan if found is None else found / 1e6

        Gauge("chronolog_collector_unsealed_oldest_timestamp_seconds",
              "When the oldest WAL file not sealed yet was opened (Unix time; NaN when none).",
              registry=self.registry).set_function(oldest)

    def watch_space(self, free_bytes: Callable[[], int], min_free_bytes: int) -> None:
        """The local store's filesystem: bytes free, and the minimum below which appends wait
        for space (`collector.store.space`; agents are answered 503 and keep their lines)."""
        Gauge("chronolog_collector_store_free_bytes", "Bytes free on the filesystem of the store's data_dir.",
              registry=self.registry).set_function(free_bytes)
        Gauge("chronolog_collector_store_min_free_bytes",
              "store.min_free_bytes: with less free space than this, appends are refused (0: never).",
              registry=self.registry).set(min_free_bytes)

    def watch_certificates(self, server_expiry: float | None,
                           earliest_client: Callable[[], float | None]) -> None:
        """When the API's certificate and the earliest live client certificate issued by the
        collector's CA expire (Unix time; NaN for none), for the expiry alert."""
        if server_expiry is not None:
            Gauge("chronolog_collector_tls_certificate_expiry_timestamp_seconds",
                  "When the collector's TLS certificate expires (Unix time).",
                  registry=self.registry).set(server_expiry)

        def earliest() -> float:
            found = earliest_client()
            return math.nan if found is None else found

        Gauge("chronolog_collector_client_certificates_earliest_expiry_timestamp_seconds",
              "When the first of the live client certificates the collector's CA issued expires "
              "(Unix time; NaN when there is none).", registry=self.registry).set_function(earliest)
