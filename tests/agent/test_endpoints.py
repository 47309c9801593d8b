"""The agent's own listener: its two documents by GET, anything else refused by status."""

from __future__ import annotations

import asyncio
import socket

import pytest

from agent.endpoints import serve_endpoints
from chronolog.cliutil import Failure


async def ask(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    answer = await reader.read()  # the listener closes after each answer
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


async def test_each_document_is_served_with_its_type_and_length() -> None:
    calls = []

    def status() -> tuple[bytes, str]:
        calls.append(1)
        return b'{"agent": "a1"}', "application/json"

    server, url = await serve_endpoints("127.0.0.1:0", {"/status": status,
                                                        "/metrics": lambda: (b"# metrics\n", "text/plain")})
    try:
        code, headers, body = await ask(url, b"GET /status HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n")
        assert (code, headers["Content-Type"], headers["Content-Length"], body) == \
            (200, "application/json", "15", b'{"agent": "a1"}')
        code, headers, body = await ask(url, b"HEAD /metrics?x=1 HTTP/1.0\r\n\r\n")
        assert (code, headers["Content-Length"], body) == (200, "10", b"")
        assert len(calls) == 1  # made at each request
    finally:
        server.close()


@pytest.mark.parametrize("request_line, code", [
    (b"POST /status HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405),
    (b"GET /admin HTTP/1.1\r\n\r\n", 404),
    (b"hello\r\n\r\n", 400),
])
async def test_anything_else_is_refused_by_status(request_line: bytes, code: int) -> None:
    server, url = await serve_endpoints("127.0.0.1:0", {"/status": lambda: (b"{}", "application/json")})
    try:
        assert (await ask(url, request_line))[0] == code
    finally:
        server.close()


async def test_a_port_in_use_is_one_message() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(Failure, match=f"cannot listen on 127.0.0.1:{taken.getsockname()[1]}: "):
            await serve_endpoints(f"127.0.0.1:{taken.getsockname()[1]}", {})
