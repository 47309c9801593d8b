"""One SNTP exchange over asyncio (RFC 4330 / RFC 5905), with the reply checked.

ntplib provides the packet format; the exchange is an asyncio datagram endpoint, so no thread
blocks the event loop. T1 is taken just before ``sendto`` and T4 in ``datagram_received``,
as close to the socket as asyncio allows. The request's transmit timestamp is random, so a
reply must echo 64 unpredictable bits as its origin timestamp to be taken.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from dataclasses import dataclass

import ntplib

__all__ = ["MAX_ROOT_DISTANCE", "Sample", "SntpError", "query"]

MAX_ROOT_DISTANCE = 1.5  # seconds; RFC 5905's MAXDIST
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01


class SntpError(Exception):
    """A failed exchange; ``reason`` is a short, countable kind (e.g. ``timeout``)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Sample:
    """One good exchange. ``offset`` is local clock minus server clock, in seconds."""

    server: str
    offset: float
    delay: float
    stratum: int
    root_delay: float
    root_dispersion: float
    refid: str
    at: float  # local wall-clock time of T4, seconds since the epoch

    @property
    def root_distance(self) -> float:
        return self.root_delay / 2 + self.root_dispersion

    @property
    def bound(self) -> float:
        """Largest |local clock - UTC| consistent with this sample, when it was taken."""
        return abs(self.offset) + self.delay / 2 + self.root_distance


class _Exchange(asyncio.DatagramProtocol):
    def __init__(self, origin: bytes) -> None:
        self.origin = origin
        self.reply: asyncio.Future[tuple[bytes, float]] = asyncio.get_running_loop().create_future()
        self.rejections: list[str] = []

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        t4 = time.time()
        if len(data) < 48 or data[24:32] != self.origin:
            self.rejections.append("bad_origin")  # not an answer to our request: keep waiting
            return
        if not self.reply.done():
            self.reply.set_result((data, t4))

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(SntpError("unreachable", str(exc)))


def _ntp_to_unix(value: float) -> float:
    return value - NTP_EPOCH_OFFSET


def _check(reply: ntplib.NTPPacket) -> None:
    if reply.mode != 4:
        raise SntpError("bad_mode", f"mode {reply.mode}, expected 4 (server)")
    if reply.version not in (3, 4):
        raise SntpError("bad_version", f"version {reply.version}")
    if reply.stratum == 0:
        code = ntplib.ref_id_to_text(reply.ref_id, 0) if reply.ref_id else "?"
        raise SntpError("kiss_of_death", code)
    if reply.leap == 3:
        raise SntpError("unsynchronized", "leap indicator 3: the server is not synchronised")
    if reply.stratum > 15:
        raise SntpError("bad_stratum", f"stratum {reply.stratum}")
    if reply.tx_timestamp == 0:
        raise SntpError("bad_timestamp", "zero transmit timestamp")
    distance = reply.root_delay / 2 + reply.root_dispersion
    if distance > MAX_ROOT_DISTANCE:
        raise SntpError("root_distance", f"{distance:.3f} s > {MAX_ROOT_DISTANCE} s")


async def query(host: str, port: int = 123, timeout: float = 2.0) -> Sample:
    """One request to ``host:port``; the checked sample, or `SntpError` with its reason."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM), timeout)
    except (OSError, TimeoutError) as e:
        raise SntpError("resolve", f"{host}: {e or 'timed out'}") from None
    family, _, _, _, address = infos[0]
    remote = (str(address[0]), int(address[1]))
    origin = secrets.token_bytes(8)
    request = bytearray(ntplib.NTPPacket(version=4, mode=3).to_data())
    request[40:48] = origin
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Exchange(origin), remote_addr=remote, family=family)
    try:
        t1 = time.time()
        transport.sendto(bytes(request))
        try:
            data, t4 = await asyncio.wait_for(asyncio.shield(protocol.reply), timeout)
        except TimeoutError:
            reason = protocol.rejections[-1] if protocol.rejections else "timeout"
            raise SntpError(reason, f"no valid reply from {host}:{port} in {timeout} s") from None
    finally:
        transport.close()
    reply = ntplib.NTPPacket()
    reply.from_data(data)
    _check(reply)
    t2, t3 = _ntp_to_unix(reply.recv_timestamp), _ntp_to_unix(reply.tx_timestamp)
    server_minus_local = ((t2 - t1) + (t3 - t4)) / 2
    delay = max(0.0, (t4 - t1) - (t3 - t2))
    return Sample(
        server=f"{host}:{port}", offset=-server_minus_local, delay=delay, stratum=reply.stratum,
        root_delay=reply.root_delay, root_dispersion=reply.root_dispersion,
        refid=ntplib.ref_id_to_text(reply.ref_id, reply.stratum), at=t4,
    )
