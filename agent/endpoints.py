"""The agent's own HTTP listener: ``GET /metrics`` (Prometheus) and ``GET /status``.

Two read-only documents on a loopback port, so the agent answers them with a few lines of
HTTP/1.1 over asyncio rather than a web framework: aiohttp's server and client are about
14 MB of the agent's 60 MB memory budget (issue 13). Each request gets its answer with a
``Content-Length`` and the connection is closed; anything but ``GET``/``HEAD`` of a known
path is a 405 or 404.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping

from chronolog.cliutil import Failure
from chronolog.daemon import split_listen

__all__ = ["Route", "serve_endpoints"]

Route = Callable[[], tuple[bytes, str]]  # the body and its Content-Type, made at each request
_READ_TIMEOUT = 10.0
_MAX_HEADER_LINES = 100
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


async def serve_endpoints(listen: str, routes: Mapping[str, Route]) -> tuple[asyncio.Server, str]:
    """Serve ``routes`` (path -> document) on ``listen``; returns the server (to close) and
    its base URL (the port resolved when 0)."""
    host, port = split_listen(listen)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT):
                request = (await reader.readline()).decode("latin-1").split()
                for _ in range(_MAX_HEADER_LINES):
                    if (await reader.readline()) in (b"\r\n", b"\n", b""):
                        break
            status, body, content_type = _answer(request, routes)
            head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {content_type}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
            writer.write(head.encode("latin-1"))
            if request[:1] != ["HEAD"]:
                writer.write(body)
            await writer.drain()
        except (OSError, TimeoutError, ValueError):
            pass  # a client that went away or never asked
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    try:
        server = await asyncio.start_server(handle, host, port, reuse_address=True, limit=8 << 10)
    except OSError as e:
        raise Failure(f"cannot listen on {listen}: {e.strerror or e}") from None
    bound_host, bound_port = server.sockets[0].getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    return server, f"http://{shown}:{bound_port}"


def _answer(request: list[str], routes: Mapping[str, Route]) -> tuple[int, bytes, str]:
    if len(request) != 3 or not request[2].startswith("HTTP/"):
        return 400, b"not an HTTP request\n", "text/plain"
    method, target = request[0], request[1].split("?", 1)[0]
    route = routes.get(target)
    if route is None:
        return 404, f"no {target} here; try {', '.join(routes)}\n".encode(), "text/plain"
    if method not in ("GET", "HEAD"):
        return 405, b"only GET\n", "text/plain"
    body, content_type = route()
    return 200, body, content_type
