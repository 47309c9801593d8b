"""The collector process: open the store, serve the API and metrics, stop cleanly.

Start-up runs in data-path order (store, then API, then metrics) and tear-down in reverse,
through one AsyncExitStack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from chronolog.cliutil import Failure
from chronolog.daemon import metrics_app, start_site, stop_event, write_ready_file
from chronolog.tls import server_context
from collector.auth.credentials import CredentialStore
from collector.config import CollectorConfig
from collector.http import (
    CREDENTIALS,
    TELEMETRY,
    cipher_guard,
    error_middleware,
    json_response,
)
from collector.ingest.push import MAX_BODY, STORE, handle_push
from collector.query.http import MAX_RESULTS, QUERY_ZONE, handle_query, handle_streams
from collector.store import Store
from collector.store.local import LocalStore
from collector.telemetry import Telemetry

__all__ = ["build_app", "credentials_path", "serve", "server_tls"]

log = logging.getLogger("collector")


def credentials_path(config: CollectorConfig) -> Path:
    return config.data_dir / "credentials.json"


def server_tls(config: CollectorConfig) -> ssl.SSLContext | None:
    """The API's TLS context, checked against the policy, or None when TLS is off."""
    tls = config.tls
    if tls.cert_file is None or tls.key_file is None:
        return None
    try:
        return server_context(tls.level, tls.cert_file, tls.key_file, tls.client_ca_file)
    except (OSError, ssl.SSLError) as e:
        raise Failure(f"cannot set up TLS: {e}") from None


def build_app(config: CollectorConfig, store: Store, credentials: CredentialStore,
              telemetry: Telemetry) -> web.Application:
    middlewares: list[Middleware] = [error_middleware]
    if config.tls.enabled:
        middlewares.append(cipher_guard(config.tls.level))
    # The body limit here is on the compressed body; decompress() enforces the real one.
    app = web.Application(client_max_size=config.api.max_body_bytes, middlewares=middlewares)
    app[STORE] = store
    app[CREDENTIALS] = credentials
    app[TELEMETRY] = telemetry
    app[MAX_BODY] = config.api.max_body_bytes
    app[QUERY_ZONE] = config.query.zone
    app[MAX_RESULTS] = config.query.max_results
    app.router.add_post("/v1/push", handle_push)
    app.router.add_get("/v1/query", handle_query)
    app.router.add_get("/v1/streams", handle_streams)
    app.router.add_get("/healthz", _healthz)
    return app


async def _healthz(_: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def serve(config: CollectorConfig, ready_file: Path | None = None) -> None:
    """Run until SIGTERM or SIGINT."""
    stop = stop_event()
    telemetry = Telemetry()
    async with contextlib.AsyncExitStack() as stack:
        store = await asyncio.to_thread(LocalStore(config.data_dir, config.store.fsync).open)
        stack.callback(store.close)
        credentials = CredentialStore(credentials_path(config))
        app = build_app(config, store, credentials, telemetry)
        runner, api_url = await start_site(app, config.api.listen, server_tls(config))
        stack.push_async_callback(runner.cleanup)
        info = {"api": api_url}
        if config.metrics.enabled:
            metrics_runner, metrics_url = await start_site(metrics_app(telemetry.registry),
                                                           config.metrics.listen)
            stack.push_async_callback(metrics_runner.cleanup)
            info["metrics"] = metrics_url + "/metrics"
        log.info("collector ready", extra={**info, "data_dir": str(config.data_dir)})
        write_ready_file(ready_file, info)
        await stop.wait()
        log.info("collector stopping")
