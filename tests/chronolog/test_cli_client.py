"""The `chronolog` command against collectors that answer badly: one line saying what went
wrong, exit status 1, never a traceback and never a short answer passed off as complete
(issue 16). Each collector here is a small real HTTP server on loopback, scripted to misbehave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from chronolog.cli.main import main

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RECORD = (b'{"ts": "2026-11-27T09:00:00.000000+09:00", "host": "web-1", "stream": "s", '
          b'"msg": "first"}\n')


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Callable[[Handler], Awaitable[list[str]]]]:
    servers: list[TestServer] = []
    token = tmp_path / "token"
    token.write_text("clg_test\n")

    async def start(handler: Handler) -> list[str]:
        app = web.Application()
        app.router.add_get("/v1/query", handler)
        app.router.add_get("/v1/streams", handler)
        server = TestServer(app)
        await server.start_server()
        servers.append(server)
        return ["--url", str(server.make_url("")), "--token-file", str(token)]

    yield start
    for server in servers:
        await server.close()


async def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = await asyncio.to_thread(main, argv)
    out, err = capsys.readouterr()
    return status, out, err


def _stream(*parts: bytes, cut: bool = False) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        for part in parts:
            await response.write(part)
        if cut:  # the connection ends without the last chunk: the answer is cut off
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write_eof()
        return response

    return handle


QUERY = ["query", "--since", "2026-11-27T00:00:00Z", "--until", "2026-11-28T00:00:00Z"]


@pytest.mark.parametrize("handler, message", [
    (_stream(RECORD, b'{"error": "internal", "detail": "the answer failed part way"}\n'),
     "the collector failed part way through its answer (internal: the answer failed part way)"),
    (_stream(RECORD, cut=True), "incomplete"),  # urllib reads a cut chunked answer as its end
    (_stream(RECORD), "ended before its summary line"),
    (_stream(RECORD, b"<html>proxy error</html>\n"), "is not JSON"),
])
async def test_an_answer_that_fails_part_way_is_a_failure_not_a_short_answer(
        serve: Callable[[Handler], Awaitable[list[str]]], capsys: pytest.CaptureFixture[str],
        handler: Handler, message: str) -> None:
    status, out, err = await run([*await serve(handler), *QUERY], capsys)
    assert status == 1
    assert message in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert out.splitlines() == ["2026-11-27T09:00:00.000000+09:00 web-1 s: first"]


async def test_a_reply_that_is_not_json_is_one_line_not_a_traceback(
        serve: Callable[[Handler], Awaitable[list[str]]], capsys: pytest.CaptureFixture[str]) -> None:
    async def html(_: web.Request) -> web.Response:
        return web.Response(text="<html>it works</html>", content_type="text/html")

    status, _, err = await run([*await serve(html), "streams"], capsys)
    assert status == 1
    assert "is not JSON (is --url a chronolog collector?)" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
