"""One keep-alive HTTP/1.1 connection to the collector, for POSTing batches.

The agent needs one kind of request (a POST with a body, its answer read whole) on one
connection at a time, so it speaks HTTP/1.1 itself over asyncio streams rather than carrying
a general HTTP library: aiohttp's client alone is about 12 MB of the agent's 60 MB budget
(issue 13). The answer may come with a ``Content-Length``, chunked, or up to the end of the
connection (a proxy may do any of them); it is read whole, up to `MAX_ANSWER` bytes.

A connection that the server closed while idle is noticed when the next request finds it
closed before any answer: the request is sent once more on a new connection (a push is
idempotent: the collector keeps each line once).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.parse
from dataclasses import dataclass

__all__ = ["MAX_ANSWER", "Answer", "Connection", "ConnectionFailed"]

MAX_ANSWER = 1 << 20  # the collector's answers are small JSON documents
_MAX_LINE = 8 << 10
_MAX_HEADERS = 100


class ConnectionFailed(Exception):
    """No answer: cannot connect, the connection broke, a time-out, or not HTTP."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case; a repeated header keeps its last value
    body: bytes


class _Stale(Exception):
    """A reused connection found closed before any answer (the server let it go idle)."""


class Connection:
    """POSTs to one server (``base_url``: ``http://`` or ``https://`` with ``ssl_context``),
    each request within ``timeout`` seconds. Concurrent posts take turns on the one connection
    (the shipper sends the spool and a new batch at the same time): two requests written
    before either answer is read could each read the other's answer."""

    def __init__(self, base_url: str, timeout: float, ssl_context: ssl.SSLContext | None = None) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http:// or https:// URL, got {base_url!r}")
        self._tls = ssl_context if parts.scheme == "https" else None
        if parts.scheme == "https" and self._tls is None:
            self._tls = ssl.create_default_context()
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._authority = parts.netloc.rsplit("@", 1)[-1]
        self._base_path = parts.path.rstrip("/")
        self._timeout = timeout
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._turn = asyncio.Lock()

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        """POST ``body`` to ``path`` (under the base URL's path); the answer, whatever its
        status. Raises `ConnectionFailed` when there is none."""
        head = [f"POST {self._base_path}{path} HTTP/1.1", f"Host: {self._authority}",
                f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        async with self._turn:  # the time-out counts from this request's own turn
            return await self._post(request, body)

    async def _post(self, request: bytes, body: bytes) -> Answer:
        try:
            async with asyncio.timeout(self._timeout):
                reused = self._streams is not None
                try:
                    return await self._exchange(request, body)
                except _Stale:
                    if not reused:
                        raise ConnectionFailed("the server closed the connection without answering") from None
                    return await self._exchange(request, body)
        except TimeoutError:  # before OSError, of which it is one
            self._drop()
            raise ConnectionFailed(f"no answer within {self._timeout:g} s") from None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, _Stale) as e:
            self._drop()
            raise ConnectionFailed(f"{type(e).__name__}: {e}") from None
        except BaseException:
            self._drop()  # cancelled mid-request: the connection's state is unknown
            raise

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()

    def _drop(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None

    async def _exchange(self, request: bytes, body: bytes) -> Answer:
        if self._streams is None:
            self._streams = await asyncio.open_connection(
                self._host, self._port, ssl=self._tls, server_hostname=self._host if self._tls else None,
                limit=_MAX_LINE)
        reader, writer = self._streams
        try:
            writer.write(request)
            writer.write(body)
            await writer.drain()
            status_line = await reader.readline()
        except (ConnectionResetError, BrokenPipeError) as e:
            self._drop()
            raise _Stale() from e
        if not status_line:
            self._drop()
            raise _Stale()
        version, status, headers = _status_and_headers(status_line, await _header_lines(reader))
        answer = Answer(status, headers, await _body(reader, headers))
        closes = headers.get("connection", "").lower()
        if closes == "close" or (version == "HTTP/1.0" and closes != "keep-alive") or \
                ("content-length" not in headers and "chunked" not in headers.get("transfer-encoding", "")):
            self._drop()
        return answer


async def _header_lines(reader: asyncio.StreamReader) -> list[bytes]:
    lines = []
    while (line := await reader.readline()) not in (b"\r\n", b"\n"):
        if not line:
            raise ValueError("the connection ended inside the answer's headers")
        lines.append(line)
        if len(lines) > _MAX_HEADERS:
            raise ValueError(f"more than {_MAX_HEADERS} header lines")
    return lines


def _status_and_headers(status_line: bytes, lines: list[bytes]) -> tuple[str, int, dict[str, str]]:
    parts = status_line.decode("latin-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP/1 status line: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ValueError(f"not a header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return parts[0], int(parts[1]), headers


async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parts: list[bytes] = []
        size = 0
        while True:
            length = int((await reader.readline()).split(b";")[0].strip() or b"x", 16)
            if length == 0:
                await _header_lines(reader)  # trailers, up to the blank line
                return b"".join(parts)
            size += length
            if size > MAX_ANSWER:
                raise ValueError(f"an answer of more than {MAX_ANSWER} bytes")
            parts.append(await reader.readexactly(length))
            await reader.readexactly(2)  # the CRLF after each chunk
    if "content-length" in headers:
        length = int(headers["content-length"])
        if not 0 <= length <= MAX_ANSWER:
            raise ValueError(f"an answer of {length} bytes")
        return await reader.readexactly(length)
    data = await reader.read(MAX_ANSWER + 1)  # up to the end of the connection
    while len(data) <= MAX_ANSWER and (more := await reader.read(MAX_ANSWER + 1 - len(data))):
        data += more
    if len(data) > MAX_ANSWER:
        raise ValueError(f"an answer of more than {MAX_ANSWER} bytes")
    return data
