"""Process plumbing shared by the agent and the collector daemons.

Listen addresses, the Prometheus endpoint, telling a supervisor that the daemon is ready (the
ready file for a test or `make run`, ``READY=1`` for systemd) and that it still runs (systemd's
watchdog), and stopping cleanly on SIGTERM or SIGINT. aiohttp is imported only by the
collector's servers (`start_site`, `metrics_app`): the agent serves its two documents itself
(`agent.endpoints`) and keeps aiohttp's memory out of its budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import signal
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from prometheus_client import CollectorRegistry, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import AfterValidator

if TYPE_CHECKING:
    from aiohttp import web

from chronolog.cliutil import Failure
from chronolog.fsutil import atomic_write
from chronolog.systemd import notify, watchdog

__all__ = [
    "SERVER_OPTIONS",
    "Listen",
    "announce_ready",
    "announce_stopping",
    "is_loopback",
    "listen_url",
    "metrics_app",
    "split_listen",
    "start_site",
    "stop_event",
    "watched",
    "write_ready_file",
]


# Options for every aiohttp server chronolog runs. auto_decompress is off because request
# bodies are decompressed by chronolog.wire, under a size limit and with the codecs chronolog
# ships (aiohttp would need extra packages for zstd and would not cap the size).
SERVER_OPTIONS: dict[str, Any] = {"auto_decompress": False}

# No ``_created`` series, which prometheus-client adds to every counter by default: a timestamp
# per series that nothing here reads and that doubles what Prometheus stores. Process-wide, so
# the agent's own endpoint (agent.endpoints) is covered too.
disable_created_metrics()  # type: ignore[no-untyped-call]

HEADER_TIMEOUT = 20.0  # seconds; see start_site


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


async def start_site(app: web.Application, listen: str, ssl_context: ssl.SSLContext | None = None,
                     header_timeout: float = HEADER_TIMEOUT) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on ``listen`` (TLS with ``ssl_context``); returns the runner (to clean
    up) and the base URL.

    A connection that has not sent a whole request head ``header_timeout`` seconds after it
    opened, or after its previous answer, is closed (issue 16: a slow client holds no socket
    for long). aiohttp has no head time-out of its own; its keep-alive timer is that: armed
    when a connection opens and after each answer, it closes a connection still waiting for
    a request head, however slowly bytes trickle in."""
    from aiohttp import web  # here, not at the top: see the module's docstring

    host, port = split_listen(listen)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, keepalive_timeout=header_timeout,
                           **SERVER_OPTIONS)
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


def announce_ready(path: Path | None, info: dict[str, Any]) -> None:
    """The daemon serves: write the ready file (if asked for one) and tell systemd
    (``Type=notify``: ``systemctl start`` returns only now, so nothing that follows it finds
    the port closed)."""
    write_ready_file(path, info)
    notify("READY=1", "STATUS=serving " + " ".join(f"{k}={v}" for k, v in info.items()))


def announce_stopping() -> None:
    notify("STOPPING=1", "STATUS=stopping")


@contextlib.asynccontextmanager
async def watched() -> AsyncIterator[None]:
    """Inside, systemd's watchdog (``WatchdogSec=``) is pinged from the event loop; outside
    systemd nothing happens."""
    task = asyncio.create_task(watchdog())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
