"""The syslog input (off by default): RFC 5424 and RFC 3164 messages over UDP and TCP (newline
or octet-counting framing, RFC 6587), as one stream, ``syslog``.

It is a *generated* stream: nothing can read its lines again, so its chunks are marked
`Pending.generated` and the shipper writes them to the spool (fsync'd) before sending. Its
numbering resumes past ``high_seq`` after a restart. Lines received but not yet spooled when
the agent is killed are lost; they leave a gap in the collector's sequence report only if
later numbers were spooled before the kill.

The header fields (facility, severity, host, app, procid, msgid, structured data) are kept
as the record's structured fields; the message is the record's text; the timestamp text goes
through `chronolog.timestamps` like any other source's, in the configured ``zone``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from agent.delivery import Mark, Pending
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from agent.inputs.syslog_format import Framer, SyslogMessage, parse_message
from agent.stamp import INVALID_ENCODING, TRUNCATED
from agent.telemetry import Telemetry
from chronolog.config_loading import StrictModel
from chronolog.daemon import split_listen
from chronolog.timefmt import now_us, resolve_zone
from chronolog.timestamps import READ_TIME, Normalizer
from chronolog.wire import Chunk, ClockView

__all__ = ["STREAM", "SyslogConfig", "SyslogInput"]

STREAM = "syslog"
MAX_CHUNK = 1000  # messages per chunk
GATHER_SECONDS = 0.05
BUFFER_BYTES = 8 << 20  # messages waiting for the queue; TCP readers pause, UDP counts drops
UDP_OVERFLOW = "syslog_buffer_full"

_Received = tuple[SyslogMessage, int, bool, str, int]  # message, received µs, cut, peer, bytes


def _listen_or_off(text: str) -> str:
    if text:
        split_listen(text)
    return text


MaybeListen = Annotated[str, AfterValidator(_listen_or_off)]


class SyslogConfig(StrictModel):
    """The ``[agent.syslog]`` table."""

    enabled: bool = Field(False, description="Receive syslog messages.")
    udp: MaybeListen = Field("127.0.0.1:5514", description="HOST:PORT for UDP; empty: no UDP.")
    tcp: MaybeListen = Field("127.0.0.1:5514", description="HOST:PORT for TCP; empty: no TCP.")
    zone: Annotated[str, AfterValidator(resolve_zone)] = Field(
        "local", validate_default=True,
        description="IANA zone of timestamps without an offset (RFC 3164); 'local': this host's.",
    )
    max_message_bytes: int = Field(
        64 << 10, ge=480, le=16 << 20,
        description="Longer messages are cut to this size, flagged 'truncated' and counted.",
    )


class SyslogInput:
    def __init__(self, config: SyslogConfig, queue: BatchQueue, checkpoints: Checkpoints,
                 clock: Callable[[], ClockView], telemetry: Telemetry) -> None:
        self.config = config
        self.queue = queue
        self.clock = clock
        self.telemetry = telemetry
        state = checkpoints.get(STREAM)
        # Nothing re-reads a generated stream: start past every number ever handed out.
        self.next_seq = max(state.next_seq, state.high_seq)
        self._normalizer = Normalizer(config.zone)
        self._pending: list[_Received] = []
        self._bytes = 0
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._closers: list[Callable[[], Any]] = []

    async def start(self) -> dict[str, str]:
        """Bind the listeners; returns where they listen (``syslog_udp``, ``syslog_tcp``)."""
        loop = asyncio.get_running_loop()
        where: dict[str, str] = {}
        if self.config.udp:
            host, port = split_listen(self.config.udp)
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(host, port))
            self._closers.append(transport.close)
            where["syslog_udp"] = _shown(transport.get_extra_info("sockname"))
        if self.config.tcp:
            host, port = split_listen(self.config.tcp)
            server = await asyncio.start_server(self._serve_tcp, host, port, reuse_address=True)
            self._closers.append(server.close)
            where["syslog_tcp"] = _shown(server.sockets[0].getsockname())
        return where

    def close(self) -> None:
        for close in self._closers:
            close()

    def received(self, data: bytes, truncated: bool, peer: str) -> bool:
        """Take one message; False if it had to be dropped (the buffer is full)."""
        if self._bytes >= BUFFER_BYTES:
            return False
        self._pending.append((parse_message(data), now_us(), truncated, peer, len(data)))
        self._bytes += len(data)
        self._arrived.set()
        return True

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer(writer.get_extra_info("peername"))
        framer = Framer(self.config.max_message_bytes)
        try:
            while data := await reader.read(1 << 16):
                for message, truncated in framer.feed(data):
                    while not self.received(message, truncated, peer):
                        self._room.clear()
                        await self._room.wait()  # back-pressure: stop reading this sender
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def run(self) -> None:
        try:
            while True:
                await self._arrived.wait()
                await asyncio.sleep(GATHER_SECONDS)  # let a burst gather into one chunk
                while self._pending:
                    batch, self._pending = self._pending[:MAX_CHUNK], self._pending[MAX_CHUNK:]
                    self._bytes -= sum(r[4] for r in batch)
                    if not self._pending:
                        self._arrived.clear()
                    self._room.set()
                    await self._ship(batch)
        finally:
            self.close()

    async def _ship(self, batch: list[_Received]) -> None:
        read_us = batch[-1][1]
        msg: list[str] = []
        ts: list[int] = []
        src: list[str] = []
        raw: list[str | None] = []
        ts_flags: list[tuple[int, list[str]]] = []
        line_flags: list[tuple[int, list[str]]] = []
        fields: list[tuple[int, dict[str, Any]]] = []
        truncated = 0
        for i, (m, received_us, cut, peer, _) in enumerate(batch):
            flags = [TRUNCATED] if cut else []
            truncated += cut
            try:
                text = m.msg.decode("utf-8")
            except UnicodeDecodeError:
                text = m.msg.decode("utf-8", "backslashreplace")
                flags.append(INVALID_ENCODING)
            if m.timestamp:
                event = self._normalizer.normalize(m.timestamp, received_us)
                ts.append(event.ts)
                src.append(event.source)
                raw.append(event.raw if event.source != READ_TIME else m.timestamp)
                if event.flags:
                    ts_flags.append((i, list(event.flags)))
            else:
                ts.append(received_us)
                src.append(READ_TIME)
                raw.append(None)
            msg.append(text)
            fields.append((i, {**m.fields(), "peer": peer}))
            if flags:
                line_flags.append((i, flags))
        chunk = Chunk(STREAM, self.next_seq, read_us, self.clock(), msg, ts, src, raw,
                      ts_flags, line_flags, fields)
        self.next_seq += len(batch)
        self.telemetry.lines_read(STREAM, len(batch), truncated)
        size = sum(len(x) for x in msg) + 256 * len(msg)
        await self.queue.put(Pending(chunk, Mark(STREAM, self.next_seq, {}), size, generated=True))


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: SyslogInput) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        limit = self.owner.config.max_message_bytes
        cut = len(data) > limit
        if not self.owner.received(data[:limit] if cut else data, cut, _peer(addr)):
            self.owner.telemetry.lines_dropped(STREAM, 1, UDP_OVERFLOW)


def _peer(addr: Any) -> str:
    return str(addr[0]) if isinstance(addr, tuple) and addr else "local"


def _shown(sockname: Any) -> str:
    host, port = sockname[0], sockname[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
