"""Receivers for bench/ship.py, run as their own processes so their CPU is not the shipper's.

``tcp N READY``: counts newline-terminated lines on a TCP socket (what rsyslog's omfwd sends);
writes the port to READY, and ``READY.done`` once N lines arrived.
``ack READY``: a minimal stand-in for the collector: takes ``POST /v1/push``, reads the body
and acknowledges it without decoding or storing, to measure the agent's own ceiling (the
harness watches the agent's ledger to know when every line was acknowledged).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from aiohttp import web


async def tcp_sink(expected: int, ready: Path) -> None:
    seen = 0
    done = asyncio.Event()

    class Count(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            nonlocal seen
            seen += data.count(b"\n")
            if seen >= expected and not done.is_set():
                Path(str(ready) + ".done").write_text(str(seen))
                done.set()

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Count, "127.0.0.1", 0)
    ready.write_text(str(server.sockets[0].getsockname()[1]))
    await done.wait()
    await asyncio.sleep(1.0)  # late duplicates would show here
    Path(str(ready) + ".done").write_text(str(seen))


async def ack_sink(ready: Path) -> None:
    async def push(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"accepted": 0, "duplicates": 0, "rejected": []})

    app = web.Application(client_max_size=256 << 20)
    app.router.add_post("/v1/push", push)
    runner = web.AppRunner(app, access_log=None, auto_decompress=False)  # it only counts bytes
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    ready.write_text(str(site._server.sockets[0].getsockname()[1]))  # type: ignore[union-attr]
    await asyncio.Event().wait()


if __name__ == "__main__":
    kind, ready_path = sys.argv[1], Path(sys.argv[-1])
    os.nice(0)
    if kind == "tcp":
        asyncio.run(tcp_sink(int(sys.argv[2]), ready_path))
    else:
        asyncio.run(ack_sink(ready_path))
