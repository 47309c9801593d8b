"""A real collector closes connections that send their request head too slowly, or not at
all, on the API and the metrics listeners alike (issue 16: 20 such connections were still
open after 130 s)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from support.processes import Daemon, free_port
from support.stores import master_key_config


def start_collector(tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> Daemon:
    config = tmp_path / "collector.toml"
    config.write_text(
        f'[collector]\ndata_dir = "{tmp_path / "store"}"\n'
        f'[collector.api]\nlisten = "127.0.0.1:{free_port()}"\nheader_timeout = 1.0\n'
        '[collector.metrics]\nlisten = "127.0.0.1:0"\n' + master_key_config(tmp_path))
    return daemons("chronolog-collector", config, tmp_path).start()


async def kept_until_closed(url: str, trickle: bytes) -> bool:
    """Send ``trickle`` one byte at a time, a few a second, until the server closes the
    connection; True once it has (False if it answered instead)."""
    host, port = url.split("//")[1].split("/")[0].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        for byte in trickle:
            with contextlib.suppress(TimeoutError):
                data = await asyncio.wait_for(reader.read(1024), 0.2)
                return data == b""  # b"": closed; anything else is an answer
            writer.write(bytes([byte]))
            await writer.drain()
        return await asyncio.wait_for(reader.read(1024), 30) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        writer.close()


SLOW_HEAD = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"y" * 1000


async def test_slow_and_silent_connections_are_closed_on_every_listener(
        tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> None:
    collector = start_collector(tmp_path, daemons)
    api, metrics = collector.info["api"], collector.info["metrics"]
    slow = [kept_until_closed(url, SLOW_HEAD) for url in [api] * 20 + [metrics] * 5]
    silent = [kept_until_closed(url, b"") for url in (api, metrics)]
    assert await asyncio.gather(*slow, *silent) == [True] * 27
    # The collector still serves after them.
    host_port = api.split("//")[1]
    reader, writer = await asyncio.open_connection(*host_port.rsplit(":", 1))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await asyncio.wait_for(reader.readline(), 30)).startswith(b"HTTP/1.1 200")
    writer.close()
