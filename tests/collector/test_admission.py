"""Caps on what the API takes on at once, and time-outs on slow bodies (issue 16): a real
server in-process, clients on raw sockets where they must misbehave."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestServer
from support.stores import batch, make_store

from chronolog.daemon import SERVER_OPTIONS
from chronolog.wire import CONTENT_TYPE, compress, encode_batch
from collector.admission import ADMISSION, Admission
from collector.app import build_app, credentials_path, open_audit
from collector.auth.credentials import CredentialStore
from collector.config import ApiConfig, CollectorConfig
from collector.http import ApiError
from collector.telemetry import Telemetry


def test_a_reservation_past_the_budget_is_refused_unless_it_is_alone() -> None:
    admission = Admission(max_requests=10, ingest_bytes=100)
    with admission.ingest(150) as alone:  # larger than the budget, but alone: let through
        assert admission.held == 150
        with pytest.raises(ApiError) as info, admission.ingest(1):
            pass
        e = info.value
        assert (e.status, e.kind, e.headers) == (503, "overloaded", {"Retry-After": "1"})
        alone.grow(50)  # still alone: it may grow
    assert admission.held == 0
    with admission.ingest(60) as first, admission.ingest(40) as second:
        assert admission.held == 100  # exactly the budget fits
        with pytest.raises(ApiError):
            second.grow(1)
        assert (first.amount, second.amount, admission.held) == (60, 40, 100)
    assert admission.held == 0


class Raw:
    """A client on a raw socket, to send a request in parts."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self) -> tuple[int, dict[str, str], Any]:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 30)
        status_line, *lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
        body = await self.reader.readexactly(int(headers["content-length"]))
        return int(status_line.split()[1]), headers, orjson.loads(body)

    def close(self) -> None:
        self.writer.close()


class Api:
    def __init__(self, server: TestServer, token: str, investigator: str) -> None:
        self.server, self.token, self.investigator = server, token, investigator

    async def until(self, condition: Callable[[Admission], bool]) -> None:
        admission = self.server.app[ADMISSION]
        async with asyncio.timeout(30):
            while not condition(admission):
                await asyncio.sleep(0.01)

    async def raw(self) -> Raw:
        return Raw(*await asyncio.open_connection(self.server.host, self.server.port))

    def push_head(self, length: int, encoding: str = "zstd") -> bytes:
        return (f"POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {self.token}\r\n"
                f"Content-Type: {CONTENT_TYPE}\r\nContent-Encoding: {encoding}\r\n"
                f"Content-Length: {length}\r\n\r\n").encode()

    async def push(self, body: bytes, encoding: str = "zstd") -> tuple[int, dict[str, str], Any]:
        raw = await self.raw()
        await raw.send(self.push_head(len(body), encoding) + body)
        try:
            return await raw.answer()
        finally:
            raw.close()

    async def streams(self) -> tuple[int, dict[str, str], Any]:
        raw = await self.raw()
        await raw.send(f"GET /v1/streams HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {self.investigator}"
                       "\r\n\r\n".encode())
        try:
            return await raw.answer()
        finally:
            raw.close()


@pytest.fixture
async def make_api(tmp_path: Path) -> AsyncIterator[Any]:
    servers: list[TestServer] = []

    async def make(**api: Any) -> Api:
        config = CollectorConfig(data_dir=tmp_path, api=ApiConfig(**api))
        store = make_store(tmp_path)
        credentials = CredentialStore(credentials_path(config))
        token = credentials.issue("city", "agent", "web-1")[1]
        investigator = credentials.issue("city", "investigator", "alice")[1]
        app = build_app(config, store, credentials, Telemetry(), open_audit(config, store.signer))
        server = TestServer(app)
        await server.start_server(**SERVER_OPTIONS)
        servers.append(server)
        return Api(server, token, investigator)

    yield make
    for server in servers:
        await server.close()


async def test_a_request_past_the_cap_in_flight_is_refused_with_retry_after(make_api: Any) -> None:
    api = await make_api(max_requests=1)
    slow = await api.raw()
    await slow.send(api.push_head(1000) + b"{")  # in flight until its body comes
    await api.until(lambda a: a.requests == 1)
    status, headers, body = await api.streams()
    assert (status, body["error"], headers["retry-after"]) == (503, "overloaded", "1")
    slow.close()


async def test_a_batch_past_the_ingest_budget_is_refused_while_another_is_held(make_api: Any) -> None:
    api = await make_api(ingest_memory_bytes=1 << 20)
    big = compress(encode_batch(batch("s", 0, 10_000)), "zstd")  # 300 KB of JSON: 3 MB reserved
    slow = await api.raw()
    await slow.send(api.push_head(1000) + b"{")  # holds 1000 bytes of the budget
    await api.until(lambda a: a.held == 1000)
    status, headers, body = await api.push(big)
    assert (status, body["error"], headers["retry-after"]) == (503, "overloaded", "1")
    slow.close()
    await api.until(lambda a: a.held == 0)
    status, _, body = await api.push(big)  # alone now: taken
    assert (status, body["accepted"]) == (200, 10_000)


async def test_a_body_inflating_past_what_it_declares_is_refused(make_api: Any) -> None:
    api = await make_api()
    body = bytearray(gzip.compress(encode_batch(batch("s", 0, 1000))))
    body[-4:] = (100).to_bytes(4, "little")  # gzip's ISIZE claims 100 bytes
    status, _, answer = await api.push(bytes(body), "gzip")
    assert (status, answer["error"]) == (413, "too_large")
    status, _, answer = await api.push(gzip.compress(encode_batch(batch("s", 0, 1000))), "gzip")
    assert (status, answer["accepted"]) == (200, 1000)


async def test_a_body_that_does_not_arrive_in_time_is_408(make_api: Any) -> None:
    api = await make_api(body_timeout=0.5)
    slow = await api.raw()
    await slow.send(api.push_head(1000) + b"{")
    status, _, body = await slow.answer()
    assert (status, body["error"]) == (408, "body_timeout")
    slow.close()


async def test_a_body_promised_larger_than_the_limit_is_413_before_it_is_read(make_api: Any) -> None:
    api = await make_api()
    raw = await api.raw()
    await raw.send(api.push_head(10**15) + b"0123456789")
    status, _, body = await raw.answer()
    assert (status, body["error"]) == (413, "too_large")
    raw.close()
