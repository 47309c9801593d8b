"""One attempt at delivering a batch body over HTTP, and what the collector answered.

Each answer names its exchange (``Chronolog-Exchange``); the next push reports when, by this
host's clock, that answer arrived (``Chronolog-Answered``), which is what the collector needs
to cross-check this host's clock against its own (docs/wire.md).

A sender keeps ``connections`` keep-alive connections and sends each body on one that is free,
so that several batches can be in flight at once (the shipper's ``in_flight``)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import orjson

from agent.delivery.backoff import parse_retry_after
from agent.delivery.connection import Connection, ConnectionFailed
from chronolog.systemd import handed_over
from chronolog.timefmt import now_us
from chronolog.wire import ANSWERED_HEADER, BATCH_CONTENT_TYPE, EXCHANGE_HEADER, format_answered

__all__ = ["Ack", "HttpSender", "SendError", "read_token"]


@dataclass(frozen=True, slots=True)
class Ack:
    accepted: int
    duplicates: int
    rejected: list[tuple[int, str]]  # (chunk index, reason)


# Typed collector errors that sending the same body again can never fix. Only these drop
# lines (counted, with the reason); every other failure is retried.
PERMANENT = frozenset({"bad_json", "bad_batch", "too_large", "bad_content_type", "bad_encoding",
                       "bad_compression"})


class SendError(Exception):
    """A failed attempt. ``reason`` is a short kind, fit for a metric label (``connection``,
    ``http 503 store_unavailable``); ``detail`` is the full message, for the log only.
    ``retryable`` says whether sending the same body again can succeed."""

    def __init__(self, reason: str, retryable: bool, detail: str = "",
                 retry_after: float | None = None) -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.retryable = retryable
        self.detail = detail or reason
        self.retry_after = retry_after  # seconds the collector asked to wait (Retry-After)


def read_token(path: Path) -> str:
    """The bearer token in ``path`` (first line). Raises OSError or ValueError."""
    token = handed_over(path).read_text(encoding="utf-8").strip()
    if not token:
        raise ValueError(f"{path} is empty; expected a token from 'chronolog-collector credentials issue'")
    return token


class HttpSender:
    """Posts batches to the collector, over up to ``connections`` connections at once.
    Authenticates with the bearer token in ``token_file``, or, when it is None, with the client
    certificate in ``ssl_context`` (mutual TLS)."""

    def __init__(self, url: str, token_file: Path | None, timeout: float, encoding: str,
                 ssl_context: ssl.SSLContext | None = None, connections: int = 1) -> None:
        self._token_file = token_file
        self._token = read_token(token_file) if token_file is not None else None
        self._connections = [Connection(url, timeout, ssl_context) for _ in range(connections)]
        self._free: asyncio.Queue[Connection] = asyncio.Queue()
        for connection in self._connections:
            self._free.put_nowait(connection)
        self.encoding = encoding
        self._answered: str | None = None  # the last answer's exchange and arrival, to report

    async def __aenter__(self) -> HttpSender:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        for connection in self._connections:
            await connection.close()

    async def send(self, body: bytes, encoding: str | None = None) -> Ack:
        """POST one body, compressed with ``encoding`` (default: this sender's; a spooled
        batch keeps the one it was written with)."""
        headers = {"Content-Type": BATCH_CONTENT_TYPE, "Content-Encoding": encoding or self.encoding}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        if self._answered is not None:
            headers[ANSWERED_HEADER] = self._answered
        connection = await self._free.get()
        try:
            answer = await connection.post("/v1/push", body, headers)
        except ConnectionFailed as e:
            raise SendError("connection", True, str(e)) from None
        finally:
            self._free.put_nowait(connection)
        arrived = now_us()
        payload, status = answer.body, answer.status
        exchange = answer.headers.get(EXCHANGE_HEADER.lower())
        retry_after = parse_retry_after(answer.headers.get("retry-after"), time.time())
        if status == 200:
            self._answered = format_answered(exchange, arrived) if exchange else None
            doc = orjson.loads(payload)
            return Ack(doc["accepted"], doc["duplicates"],
                       [(r["chunk"], r["reason"]) for r in doc["rejected"]])
        kind = _error_kind(payload)
        if status in (400, 413, 415) and kind in PERMANENT:
            raise SendError(f"http {status} {kind}", retryable=False)
        if status == 401 and self._token_file is not None:
            # Perhaps the token was rotated on disk: take the new one for the next attempt.
            with contextlib.suppress(OSError, ValueError):
                self._token = read_token(self._token_file)
        # Anything else may be a proxy or a collector bug that is fixed later: keep the lines.
        raise SendError(f"http {status} {kind}", retryable=True, retry_after=retry_after)


def _error_kind(payload: bytes) -> str:
    try:
        return str(orjson.loads(payload)["error"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return "unknown"
