"""One SNTP exchange over asyncio (RFC 4330 / RFC 5905), with the reply checked.

ntplib provides the packet format; the exchange is a non-blocking socket watched by the event
loop, so no thread blocks it. The request's transmit timestamp is 64 random bits, so a reply
must echo them as its origin timestamp to be taken (a late answer to an earlier request, or a
forged one, cannot). T1 is read just before ``send``; T4 is the kernel's receive timestamp
(``SO_TIMESTAMPNS``), which event-loop delays cannot bias, or, when the kernel gives none or a
time outside [T1, now] (a process under libfaketime), the clock read as the reply is taken
from the socket. The wall clock is read with the monotonic clock before and after: if they
moved apart, the clock was stepped during the exchange and the sample is discarded.

`check_reply` and `sample_from` are pure; `exchange` does the IO.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import struct
import time
from dataclasses import dataclass

import ntplib

__all__ = [
    "KISS_BACK_OFF",
    "KISS_STOP",
    "MAX_ROOT_DISTANCE",
    "Sample",
    "SntpError",
    "check_reply",
    "exchange",
    "kiss_code",
    "query",
    "resolve",
    "sample_from",
]

MAX_ROOT_DISTANCE = 1.5  # seconds; ntpd's MAXDIST (RFC 5905 says 1 s, chrony 3 s)
MAX_REFERENCE_AGE = 2**17  # seconds (~36 h): a server whose reference is older is adrift
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # not exported by CPython 3.11
KISS_BACK_OFF = frozenset({"RATE"})  # RFC 5905 section 7.4: poll less often
KISS_STOP = frozenset({"DENY", "RSTR"})  # RFC 5905 section 7.4: stop using this server
SLEW_LIMIT = 500e-6  # the kernel never slews faster than 500 ppm
STEP_TOLERANCE = 1e-4  # seconds of realtime/monotonic movement put down to reading jitter


class SntpError(Exception):
    """A failed exchange; ``reason`` is a short, countable kind (e.g. ``timeout``) and ``kiss``
    the kiss code of a kiss-o'-death (``RATE``, ``DENY``, ...)."""

    def __init__(self, reason: str, detail: str = "", kiss: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.kiss = kiss


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
    mono: float = 0.0  # monotonic time of T4 (ages the sample)
    leap: int = 0
    kernel_rx: bool = False  # T4 is the kernel's receive timestamp

    @property
    def root_distance(self) -> float:
        return self.root_delay / 2 + self.root_dispersion

    @property
    def radius(self) -> float:
        """Half-width of the interval around ``offset`` that contains the true error."""
        return self.delay / 2 + self.root_distance

    @property
    def bound(self) -> float:
        """Largest |local clock - UTC| consistent with this sample, when it was taken."""
        return abs(self.offset) + self.radius


def _ntp_to_unix(value: float) -> float:
    return value - NTP_EPOCH_OFFSET


def refid_text(ref_id: int, stratum: int) -> str:
    """The reference id as text: four ASCII letters at stratum 0-1 (a clock kind or kiss
    code), a dotted IPv4 address (or hash of an IPv6 one) above."""
    raw = ref_id.to_bytes(4, "big")
    if stratum <= 1:
        text = raw.rstrip(b"\0")
        if text and all(0x20 < b < 0x7F for b in text):
            return text.decode("ascii")
        return raw.hex().upper()  # e.g. chrony's 7F7F0101 for "local" mode
    return ".".join(str(b) for b in raw)


def kiss_code(reply: ntplib.NTPPacket) -> str | None:
    """The code of a kiss-o'-death: stratum 0 and up to four ASCII capitals or digits as the
    reference id (RFC 5905 section 7.4). Stratum 0 without them, like leap indicator 3, is a
    server that is not synchronised (what an unsynchronised chronyd sends)."""
    code: bytes = int(reply.ref_id).to_bytes(4, "big").rstrip(b"\0")
    if reply.stratum != 0 or not code or not all(0x41 <= b <= 0x5A or 0x30 <= b <= 0x39 for b in code):
        return None
    return code.decode("ascii")


def check_reply(reply: ntplib.NTPPacket, max_root_distance: float = MAX_ROOT_DISTANCE) -> None:
    """Raise `SntpError` naming the first thing wrong with a server's reply (pure)."""
    if reply.mode != 4:
        raise SntpError("bad_mode", f"mode {reply.mode}, expected 4 (server)")
    if reply.version not in (3, 4):
        raise SntpError("bad_version", f"version {reply.version}, expected 3 or 4")
    kiss = kiss_code(reply)
    if kiss is not None:
        raise SntpError("kiss_of_death", f"kiss code {kiss}", kiss=kiss)
    if reply.leap == 3 or reply.stratum == 0:
        raise SntpError("unsynchronized", f"leap indicator {reply.leap}, stratum {reply.stratum}: "
                        "the server is not synchronised")
    if reply.stratum > 15:
        raise SntpError("bad_stratum", f"stratum {reply.stratum}")
    if reply.tx_timestamp == 0 or reply.recv_timestamp == 0:
        raise SntpError("bad_timestamp", "zero receive or transmit timestamp")
    if reply.recv_timestamp > reply.tx_timestamp:
        raise SntpError("bad_timestamp", "the server answered before it received the request")
    if reply.ref_timestamp == 0 or reply.tx_timestamp - reply.ref_timestamp > MAX_REFERENCE_AGE:
        raise SntpError("stale_reference", "the server's reference time is missing or over 36 h old")
    distance = reply.root_delay / 2 + reply.root_dispersion
    if distance > max_root_distance:
        raise SntpError("root_distance", f"{distance:.3f} s > {max_root_distance} s")


def sample_from(server: str, reply: ntplib.NTPPacket, t1: float, t4: float, mono4: float,
                kernel_rx: bool, max_root_distance: float = MAX_ROOT_DISTANCE) -> Sample:
    """The checked sample of one reply, given our send (T1) and receive (T4) times (pure)."""
    check_reply(reply, max_root_distance)
    t2, t3 = _ntp_to_unix(reply.recv_timestamp), _ntp_to_unix(reply.tx_timestamp)
    server_minus_local = ((t2 - t1) + (t3 - t4)) / 2
    delay = max(0.0, (t4 - t1) - (t3 - t2))
    return Sample(
        server=server, offset=-server_minus_local, delay=delay, stratum=reply.stratum,
        root_delay=reply.root_delay, root_dispersion=reply.root_dispersion,
        refid=refid_text(reply.ref_id, reply.stratum), at=t4, mono=mono4, leap=reply.leap,
        kernel_rx=kernel_rx,
    )


async def resolve(host: str, port: int, timeout: float) -> tuple[int, tuple[str, int]]:
    """The address family and socket address of ``host:port`` (the first address)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM), timeout)
    except (OSError, TimeoutError) as e:
        raise SntpError("resolve", f"{host}: {e or 'timed out'}") from None
    family, _, _, _, address = infos[0]
    return family, (str(address[0]), int(address[1]))


@dataclass(frozen=True, slots=True)
class _Received:
    data: bytes
    t4: float
    mono4: float
    kernel_rx: bool


def _kernel_time(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return float(seconds + nanoseconds / 1e9)
    return None


async def exchange(server: str, family: int, address: tuple[str, int], timeout: float,
                   max_root_distance: float = MAX_ROOT_DISTANCE) -> Sample:
    """One request to ``address``; the checked sample, or `SntpError` with its reason."""
    loop = asyncio.get_running_loop()
    origin = secrets.token_bytes(8)
    request = bytearray(ntplib.NTPPacket(version=4, mode=3).to_data())
    request[40:48] = origin
    rejections: list[str] = []
    received: asyncio.Future[_Received] = loop.create_future()
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)

    def readable() -> None:
        while not received.done():
            try:
                data, ancillary, _, _ = sock.recvmsg(1024, socket.CMSG_SPACE(16))
            except BlockingIOError:
                return
            except OSError as e:  # ICMP port unreachable and the like, on a connected socket
                received.set_exception(SntpError("unreachable", e.strerror or str(e)))
                return
            t4, mono4 = time.time(), time.monotonic()
            if len(data) < 48 or data[24:32] != origin:
                rejections.append("bad_origin")  # not an answer to our request: keep waiting
                continue
            kernel = _kernel_time(ancillary)
            if kernel is not None and t1 <= kernel <= t4:
                received.set_result(_Received(data, kernel, mono4 - (t4 - kernel), True))
            else:
                received.set_result(_Received(data, t4, mono4, False))

    try:
        sock.connect(address)
        loop.add_reader(sock.fileno(), readable)
        mono1 = time.monotonic()
        t1 = time.time()
        try:
            sock.send(request)
        except OSError as e:
            raise SntpError("unreachable", e.strerror or str(e)) from None
        try:
            got = await asyncio.wait_for(asyncio.shield(received), timeout)
        except TimeoutError:
            reason = rejections[-1] if rejections else "timeout"
            raise SntpError(reason, f"no valid reply from {server} in {timeout} s") from None
    finally:
        loop.remove_reader(sock.fileno())
        sock.close()
    moved = (got.t4 - got.mono4) - (t1 - mono1)
    if abs(moved) > STEP_TOLERANCE + SLEW_LIMIT * (got.mono4 - mono1):
        raise SntpError("clock_stepped", f"the wall clock moved {moved:+.6f} s during the exchange")
    reply = ntplib.NTPPacket()
    try:
        reply.from_data(got.data)
    except ntplib.NTPException as e:
        raise SntpError("bad_packet", str(e)) from None
    return sample_from(server, reply, t1, got.t4, got.mono4, got.kernel_rx, max_root_distance)


async def query(host: str, port: int = 123, timeout: float = 2.0,
                max_root_distance: float = MAX_ROOT_DISTANCE) -> Sample:
    """Resolve ``host`` and make one exchange with it."""
    family, address = await resolve(host, port, timeout)
    return await exchange(f"{host}:{port}", family, address, timeout, max_root_distance)
