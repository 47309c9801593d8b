"""Process plumbing shared by the agent and the collector daemons.

Listen addresses, the Prometheus endpoint, the ready file that tells a supervisor (or a test)
where a daemon listens, and stopping cleanly on SIGTERM or SIGINT. aiohttp is imported only by
the collector's servers (`start_site`, `metrics_app`): the agent serves its two documents
itself (`agent.endpoints`) and keeps aiohttp's memory out of its budget.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import AfterValidator

if TYPE_CHECKING:
    from aiohttp import web

from chronolog.cliutil import Failure
from chronolog.fsutil import atomic_write

__all__ = [
    "SERVER_OPTIONS",
    "Listen",
    "is_loopback",
    "listen_url",
    "metrics_app",
    "split_listen",
    "start_site",
    "stop_event",
    "write_ready_file",
]


# Options for every aiohttp server chronolog runs. auto_decompress is off because request
# bodies are decompressed by chronolog.wire, under a size limit and with the codecs chronolog
# ships (aiohttp would need extra packages for zstd and would not cap the size).
SERVER_OPTIONS: dict[str, Any] = {"auto_decompress": False}


def split_listen(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9471"`` or ``"[::1]:9471"`` into host and port (port 0: any free one)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:9471, got {text!r}")
    return host.strip("[]"), int(port)


def _valid_listen(text: str) -> str:
    split_listen(text)
    return text


# A ``HOST:PORT`` configuration value.
Listen = Annotated[str, AfterValidator(_valid_listen)]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen_url(scheme: str, site: web.TCPSite) -> str:
    """The URL a started site actually listens on (resolves port 0)."""
    server = site._server  # aiohttp exposes the bound sockets only here
    sockets = getattr(server, "sockets", None)
    assert sockets, "site not started"
    host, port = sockets[0].getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


async def start_site(app: web.Application, listen: str,
                     ssl_context: ssl.SSLContext | None = None) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on ``listen`` (TLS with ``ssl_context``); returns the runner (to clean
    up) and the base URL."""
    from aiohttp import web  # here, not at the top: see the module's docstring

    host, port = split_listen(listen)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, **SERVER_OPTIONS)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True, ssl_context=ssl_context)
    try:
        await site.start()
    except OSError as e:
        await runner.cleanup()
        raise Failure(f"cannot listen on {listen}: {e.strerror or e}") from None
    return runner, listen_url("https" if ssl_context else "http", site)


def metrics_app(registry: CollectorRegistry) -> web.Application:
    """An app serving ``registry`` at ``/metrics`` in the Prometheus text format."""
    from aiohttp import web  # here, not at the top: see the module's docstring

    async def handle(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", handle)
    return app


def stop_event() -> asyncio.Event:
    """An event set by the first SIGTERM or SIGINT (call inside the running loop)."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, event.set)
    return event


def write_ready_file(path: Path | None, info: dict[str, Any]) -> None:
    """Atomically write ``info`` (with our pid) as JSON, once the daemon is serving."""
    if path is not None:
        atomic_write(path, orjson.dumps({"pid": os.getpid(), **info}), mode=0o644)
