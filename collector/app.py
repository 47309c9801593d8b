"""The collector process: open the store, serve the API and metrics, stop cleanly.

Start-up runs in data-path order (store, then API, then metrics) and tear-down in reverse,
through one AsyncExitStack.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from chronolog.cliutil import Failure
from chronolog.daemon import announce_ready, announce_stopping, metrics_app, start_site, stop_event, watched
from chronolog.tls import certificate_expiry, server_context
from collector.admin import config_audit
from collector.admin.audit import AUDIT, AuditTrail, Signs
from collector.admin.audit_cluster import AUDIT_CLUSTER, ClusterTrails
from collector.admin.audit_http import add_audit_routes
from collector.admin.audit_verify import verify_trail
from collector.admin.endpoint import GUARDED
from collector.admin.http import AdminStore, add_store_routes
from collector.admin.investigators_http import add_investigator_routes
from collector.admin.login_http import LOGIN, add_login_routes
from collector.admin.tenants_http import add_tenant_routes
from collector.admission import ADMISSION, Admission, admission_middleware
from collector.auth.access import ACCOUNTS, SESSIONS
from collector.auth.admins import AdminAccounts
from collector.auth.credentials import CredentialStore
from collector.auth.login import LoginGate
from collector.auth.sessions import SessionStore
from collector.config import CollectorConfig
from collector.console.pages import security_headers
from collector.console.routes import add_console, investigators_path
from collector.evidence.clock import CROSS_CHECK, CrossCheck, NoCrossCheck
from collector.evidence.http import EVIDENCE, handle_export
from collector.evidence.source import EvidenceSource
from collector.fleet.http import FleetCrossCheck, add_fleet_routes
from collector.fleet.metrics import FleetMetrics
from collector.fleet.service import Fleet
from collector.http import (
    BODY_TIMEOUT,
    CREDENTIALS,
    MAX_BODY,
    TELEMETRY,
    cipher_guard,
    error_middleware,
    json_response,
)
from collector.ingest.loki import LOKI_NUMBERS, LokiNumbers, handle_loki_push
from collector.ingest.push import STORE, handle_push
from collector.query.follow_http import handle_context, handle_count, handle_tail
from collector.query.http import QUERY_LIMITS, SKEW_MARGIN, handle_query, handle_streams
from collector.store import Store, StoreUnavailable
from collector.store.keys import FileMasterKeys, KeyringError, master_key_path
from collector.store.local import LocalStore, StoreLocked
from collector.telemetry import Telemetry

if TYPE_CHECKING:
    from collector.store.jetstream.store import JetStreamStore

__all__ = ["admins_path", "audit_path", "build_app", "credentials_path", "fleet_path", "open_audit",
           "open_store", "serve", "server_tls"]

log = logging.getLogger("collector")


def credentials_path(config: CollectorConfig) -> Path:
    return config.data_dir / "credentials.json"


def server_tls(config: CollectorConfig) -> ssl.SSLContext | None:
    """The API's TLS context, checked against the policy, or None when TLS is off."""
    tls = config.tls
    if tls.cert_file is None or tls.key_file is None:
        return None
    try:
        return server_context(tls.level, tls.cert_file, tls.key_file, tls.client_ca_file, tls.session_tickets)
    except (OSError, ssl.SSLError) as e:
        raise Failure(f"cannot set up TLS: {e}") from None


def audit_path(config: CollectorConfig) -> Path:
    return config.data_dir / "audit.log"


def admins_path(config: CollectorConfig) -> Path:
    return config.data_dir / "admins.json"


def open_audit(config: CollectorConfig, signer: Signs, telemetry: Telemetry | None = None) -> AuditTrail:
    """The audit trail, read once (blocking). With ``telemetry``, guarded operations are counted
    from every entry, those of earlier runs and local commands included, so that one done
    while the collector was stopped (a restore) still raises its alert at start."""
    def count(entry: dict[str, Any]) -> None:
        if telemetry is None:
            return
        if entry.get("action") in GUARDED:
            telemetry.guarded_operation(str(entry["action"]), str(entry.get("outcome")))
        elif entry.get("action") == config_audit.ACTION:
            details = entry.get("details")
            for w in details.get("widened", []) if isinstance(details, dict) else []:
                telemetry.config_exposure_widened(config_audit.setting_of(str(w.get("setting"))))

    if telemetry is not None:
        telemetry.guarded_operations_known(GUARDED)
        telemetry.config_settings_known(config_audit.settings())
    return AuditTrail(audit_path(config), signer, on_entry=count).open()


def check_audit(trail: AuditTrail, public_key: str, telemetry: Telemetry) -> None:
    """The chain without signatures, at every start (cheap); `chronolog audit --verify`
    checks every signature too."""
    report = verify_trail(trail.lines(), public_key, signatures=False)
    telemetry.audit_trail_checked([f"{f.kind}: {f.where}: {f.detail}" for f in report.findings])


def open_store(config: CollectorConfig, telemetry: Telemetry | None = None) -> LocalStore | JetStreamStore:
    """The configured store with its master key, opened for this process (blocking): the local
    directory, recovered and locked, or the JetStream cluster, connected."""
    try:
        master = FileMasterKeys.load(master_key_path(config.keys))
        if config.store.backend == "jetstream":
            from collector.store.jetstream.store import JetStreamStore

            return JetStreamStore(config.store.jetstream, master, config.data_dir / "cluster-cache",
                                  config.store.seal_settings(), config.store.sealers,
                                  config.store.seal_in_subprocess, telemetry,
                                  retention_days=config.store.retention_days,
                                  retention_interval=config.store.retention_check_interval).open()
        return LocalStore(config.data_dir, master, config.store, telemetry).open()
    except (KeyringError, StoreLocked, StoreUnavailable) as e:
        raise Failure(str(e)) from None


def fleet_path(config: CollectorConfig) -> Path:
    return config.data_dir / "fleet"


def build_app(config: CollectorConfig, store: Store, credentials: CredentialStore,
              telemetry: Telemetry, audit: AuditTrail, admin: AdminStore | None = None,
              fleet: Fleet | None = None, evidence: EvidenceSource | None = None,
              cross_check: CrossCheck | None = None) -> web.Application:
    """The API. Without ``fleet``, a fleet registry in memory only (for tests); without
    ``evidence``, no export."""
    middlewares: list[Middleware] = [error_middleware]
    if config.tls.enabled:
        middlewares.append(cipher_guard(config.tls.level))
    middlewares.append(admission_middleware)
    # The body limit here is on the compressed body; decompress() enforces the real one.
    app = web.Application(client_max_size=config.api.max_body_bytes, middlewares=middlewares)
    app.on_response_prepare.append(security_headers)
    app[STORE] = store
    app[LOKI_NUMBERS] = LokiNumbers(store)
    app[CREDENTIALS] = credentials
    app[TELEMETRY] = telemetry
    app[AUDIT] = audit
    app[MAX_BODY] = config.api.max_body_bytes
    app[BODY_TIMEOUT] = config.api.body_timeout
    app[ADMISSION] = Admission(config.api.max_requests, config.api.ingest_memory_bytes)
    app[QUERY_LIMITS] = config.query.limits()
    app[SKEW_MARGIN] = config.query.skew_margin
    app.router.add_post("/v1/push", handle_push)
    app.router.add_post("/loki/api/v1/push", handle_loki_push)  # Loki's clients (docs/loki.md)
    app.router.add_get("/v1/query", handle_query)
    app.router.add_get("/v1/streams", handle_streams)
    app.router.add_get("/v1/tail", handle_tail)
    app.router.add_get("/v1/count", handle_count)
    app.router.add_get("/v1/context", handle_context)
    if evidence is not None:
        app[EVIDENCE] = evidence
        app[CROSS_CHECK] = cross_check or NoCrossCheck()
        app.router.add_get("/v1/export", handle_export)
    app.router.add_get("/healthz", _healthz)
    add_fleet_routes(app, fleet or Fleet(config.fleet, store), config.query.zone)
    if admin is not None:
        accounts = AdminAccounts(admins_path(config), admin.master)
        app[ACCOUNTS] = accounts
        app[SESSIONS] = SessionStore(config.admin.session_seconds)
        app[LOGIN] = LoginGate(accounts)
        add_login_routes(app)
        add_store_routes(app, admin, config.data_dir)
        add_tenant_routes(app)
        add_audit_routes(app)
        add_console(app, config.console, AdminAccounts(investigators_path(config.data_dir), admin.master,
                                                       "investigator"))
        add_investigator_routes(app)
    return app


async def _healthz(_: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def serve(config: CollectorConfig, ready_file: Path | None = None) -> None:
    """Run until SIGTERM or SIGINT."""
    stop = stop_event()
    telemetry = Telemetry()
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(watched())
        store = await asyncio.to_thread(open_store, config, telemetry)
        stack.callback(store.close)
        maintenance = asyncio.create_task(store.maintain())
        stack.push_async_callback(_cancel, maintenance)
        if config.store.backend == "jetstream":
            stack.push_async_callback(_cancel, asyncio.create_task(cluster_health(config, telemetry)))
        if isinstance(store, LocalStore):  # the JetStream store's backlog is its stream's (health.py)
            telemetry.watch_backlog(store.backlog)
            telemetry.watch_space(store.space.free_bytes, store.space.min_free_bytes)
        credentials = CredentialStore(credentials_path(config))
        if not isinstance(store, LocalStore):  # JetStream: one set of credentials and accounts
            from collector.auth.shared import share

            accounts = [AdminAccounts(admins_path(config), store.master),
                        AdminAccounts(investigators_path(config.data_dir), store.master, "investigator")]
            stack.push_async_callback(_cancel, asyncio.create_task(share(credentials, accounts, store.text)))
        cert = config.tls.cert_file
        telemetry.watch_certificates(certificate_expiry(cert) if cert is not None else None,
                                     credentials.earliest_certificate_expiry)
        audit = await asyncio.to_thread(open_audit, config, store.signer, telemetry)
        await asyncio.to_thread(check_audit, audit, store.public_key(), telemetry)
        await asyncio.to_thread(config_audit.record_start, audit, config,
                                AdminAccounts(admins_path(config), store.master))
        cluster_audit = None
        if not isinstance(store, LocalStore):  # JetStream: every collector's trail, read as one
            cluster_audit = await share_audit(config, store, audit, telemetry, stack)
        fleet = await asyncio.to_thread(Fleet(config.fleet, store, fleet_path(config)).load)
        telemetry.registry.register(FleetMetrics(fleet))
        fleet_task = asyncio.create_task(fleet.run())
        stack.push_async_callback(_cancel, fleet_task)  # after the API stops: its last save
        app = build_app(config, store, credentials, telemetry, audit, admin=store, fleet=fleet,
                        evidence=store, cross_check=FleetCrossCheck(fleet, asyncio.get_running_loop()))
        if cluster_audit is not None:
            app[AUDIT_CLUSTER] = cluster_audit
        runner, api_url = await start_site(app, config.api.listen, server_tls(config),
                                           header_timeout=config.api.header_timeout)
        stack.push_async_callback(runner.cleanup)
        info = {"api": api_url}
        if config.metrics.enabled:
            metrics_runner, metrics_url = await start_site(metrics_app(telemetry.registry),
                                                           config.metrics.listen,
                                                           header_timeout=config.api.header_timeout)
            stack.push_async_callback(metrics_runner.cleanup)
            info["metrics"] = metrics_url + "/metrics"
        log.info("collector ready", extra={**info, "data_dir": str(config.data_dir)})
        # What start-up made (modules, configuration, the store's state) lives as long as the
        # process: keep it out of every later collection, which then only looks at what
        # requests make (a query's scan spent 4.5% of its time collecting, profiled).
        gc.freeze()
        announce_ready(ready_file, info)
        await stop.wait()
        log.info("collector stopping")
        announce_stopping()


async def share_audit(config: CollectorConfig, store: JetStreamStore, audit: AuditTrail, telemetry: Telemetry,
                      stack: contextlib.AsyncExitStack) -> ClusterTrails:
    """This collector's trail copied into the cluster until the collector stops, and every
    collector's trail read from there (docs/scale-out.md)."""
    from collector.admin.audit_copy import AuditCopier
    from collector.identity import collector_name

    try:
        name = await asyncio.to_thread(collector_name, config.data_dir)
    except (OSError, ValueError) as e:
        raise Failure(str(e)) from None
    copier = AuditCopier(store, audit.path, name, config.data_dir / "keys", telemetry.registry)
    stack.push_async_callback(_cancel, asyncio.create_task(copier.run()))
    return ClusterTrails(store, name, audit)


async def cluster_health(config: CollectorConfig, telemetry: Telemetry) -> None:
    """The NATS cluster's health as metrics, until cancelled (docs/scale-out.md)."""
    from collector.store.jetstream.health import ClusterHealth, watch

    js = config.store.jetstream
    location = js.location.label() if js.location is not None else ""
    await watch(ClusterHealth(telemetry.registry, js.monitor_urls, js.prefix, location))


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
