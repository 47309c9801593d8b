"""The agent's HTTP/1.1 connection to the collector: answers however a server frames them, one
connection kept between requests, a closed idle connection replaced, and no answer named.

Most servers here are real asyncio servers on loopback that write scripted bytes (what a
proxy might answer), named as such; the real collector is in the e2e tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest

from agent.delivery.connection import MAX_ANSWER, Connection, ConnectionFailed

# The request's bytes -> what to answer (None: close at once; (bytes, True): answer, then close).
Script = Callable[[bytes], bytes | tuple[bytes, bool] | None]


class ScriptedServer:
    """A loopback server answering each request with scripted bytes, counting connections."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                answer = self.script(request)
                if answer is None:
                    break
                answer, close = answer if isinstance(answer, tuple) else (answer, False)
                writer.write(answer)
                await writer.drain()
                if close or (b"content-length" not in answer.lower() and b"chunked" not in answer):
                    break  # an answer that runs to the end of the connection, or is cut
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Script], asyncio.Future[tuple[ScriptedServer, str]]]]:
    started: list[ScriptedServer] = []

    async def start(script: Script) -> tuple[ScriptedServer, str]:
        server = ScriptedServer(script)
        started.append(server)
        return server, await server.start()

    yield start  # type: ignore[misc]
    for server in started:
        assert server.server is not None
        server.server.close()


def ok(body: bytes = b'{"accepted": 1}', extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def test_a_request_is_sent_whole_and_connections_are_kept(serve) -> None:  # type: ignore[no-untyped-def]
    server, url = await serve(lambda request: ok())
    connection = Connection(url + "/base", timeout=5)
    for _ in range(3):
        answer = await connection.post("/v1/push", b"body!", {"Authorization": "Bearer t"})
        assert (answer.status, answer.body) == (200, b'{"accepted": 1}')
    await connection.close()
    assert server.connections == 1
    assert server.requests[0].startswith(b"POST /base/v1/push HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nContent-Length: 5\r\nAuthorization: Bearer t\r\n\r\nbody!" in server.requests[0]


async def test_posts_made_at_once_each_get_their_own_answer(serve) -> None:  # type: ignore[no-untyped-def]
    # The shipper sends the spool and a new batch at the same time over the one connection.
    _, url = await serve(lambda request: ok(request.rsplit(b"\r\n\r\n", 1)[1]))
    connection = Connection(url, timeout=5)
    assert (await connection.post("/v1/push", b"first", {})).body == b"first"  # a connection to share
    bodies = [b"batch %d" % i for i in range(5)]
    answers = await asyncio.gather(*(connection.post("/v1/push", b, {}) for b in bodies))
    assert [a.body for a in answers] == bodies
    await connection.close()


@pytest.mark.parametrize("answer, body", [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=1\r\nabcd\r\n3\r\nefg\r\n0\r\nT: 1\r\n\r\n",
     b"abcdefg"),
    (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\ncontent-length: 2\r\n\r\n{}", b"{}"),
    (b"HTTP/1.0 502 Bad Gateway\r\nContent-Type: text/html\r\n\r\n<html>down</html>", b"<html>down</html>"),
])
async def test_every_framing_of_an_answer_is_read_whole(serve, answer: bytes, body: bytes) -> None:  # type: ignore[no-untyped-def]
    _, url = await serve(lambda request: answer)
    connection = Connection(url, timeout=5)
    got = await connection.post("/v1/push", b"x", {})
    assert got.body == body
    assert got.status == int(answer.split()[1])
    await connection.close()


async def test_an_idle_connection_the_server_closed_is_replaced_once(serve) -> None:  # type: ignore[no-untyped-def]
    answers = iter([ok(extra=b"Connection: keep-alive\r\n"), None, ok()])
    server, url = await serve(lambda request: next(answers))
    connection = Connection(url, timeout=5)
    assert (await connection.post("/v1/push", b"1", {})).status == 200
    # The server now closes that connection instead of answering the second request.
    assert (await connection.post("/v1/push", b"2", {})).status == 200
    assert server.connections == 2 and len(server.requests) == 3
    await connection.close()


@pytest.mark.parametrize("answer, says", [
    (None, "closed the connection without answering"),
    (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1 status line"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "not a header line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (MAX_ANSWER + 1), "an answer of"),
    ((b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", True), "IncompleteReadError"),
])
async def test_no_answer_is_named(serve, answer: bytes | tuple[bytes, bool] | None,  # type: ignore[no-untyped-def]
                                  says: str) -> None:
    def script(request: bytes) -> bytes | tuple[bytes, bool] | None:
        return answer

    _, url = await serve(script)
    connection = Connection(url, timeout=5)
    with pytest.raises(ConnectionFailed, match=says):
        await connection.post("/v1/push", b"x", {})


async def test_a_server_that_never_answers_times_out(serve) -> None:  # type: ignore[no-untyped-def]
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    connection = Connection(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", timeout=0.2)
    with pytest.raises(ConnectionFailed, match=r"no answer within 0\.2 s"):
        await connection.post("/v1/push", b"x", {})
    server.close()


async def test_nothing_listening_is_a_connection_failure() -> None:
    with socket.socket() as bound:  # bound, never listening: connecting to it is refused
        bound.bind(("127.0.0.1", 0))
        connection = Connection(f"http://127.0.0.1:{bound.getsockname()[1]}", timeout=5)
        with pytest.raises(ConnectionFailed, match="ConnectionRefusedError"):
            await connection.post("/v1/push", b"x", {})
