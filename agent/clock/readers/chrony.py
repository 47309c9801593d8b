"""chronyd's own view: ``tracking`` and ``sources`` through its command port, or ``chronyc -c``.

The command protocol (version 6) is documented only in chrony's source (``candm.h``,
``cmdmon.c``): fixed big-endian structures over UDP, requests padded to the size of their
reply (against amplification). ``tracking``, ``n_sources`` and ``source_data`` are among the
commands chronyd answers over UDP from localhost without privilege (port 323 by default).
Where the port is closed (``cmdport 0``) ``chronyc -c`` can still ask through the Unix
socket, which needs root or the chrony user.

Signs: the reply's ``current_correction`` (chronyc's "System time") is positive when the
system clock is *slow*, so the offset here is its negation; a source's ``latest_meas`` is
positive when the local clock is ahead. chronyc's CSV output keeps both conventions.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import struct
import time
from dataclasses import dataclass

from agent.clock.readers import LEAP_NAMES, DaemonSource, DaemonView, ReaderError

__all__ = [
    "Tracking",
    "float_from_wire",
    "parse_csv",
    "parse_source",
    "parse_tracking",
    "read_chronyc",
    "read_cmdmon",
    "request",
    "view_from",
]

PROTO_VERSION = 6
PKT_REQUEST, PKT_REPLY = 1, 2
REQ_N_SOURCES, REQ_SOURCE_DATA, REQ_TRACKING = 14, 15, 33
RPY_N_SOURCES, RPY_SOURCE_DATA, RPY_TRACKING = 2, 3, 5
REPLY_LENGTH = {REQ_N_SOURCES: 32, REQ_SOURCE_DATA: 76, REQ_TRACKING: 104}
STATUS_TEXT = {1: "failed", 2: "not authorised", 3: "invalid", 4: "no such source",
               6: "not enabled", 18: "bad packet version", 19: "bad packet length"}
LOCAL_REFID = 0x7F7F0101  # chronyd's "local" directive: serving its own clock, not UTC
SOURCE_STATES = ("selected", "unusable", "falseticker", "jittery", "outlier", "candidate")
SOURCE_MODES = ("server", "peer", "refclock")
CSV_STATES = {"*": "selected", "+": "candidate", "-": "outlier", "x": "falseticker",
              "~": "jittery", "?": "unusable"}
CSV_MODES = {"^": "server", "=": "peer", "#": "refclock"}
CSV_LEAP = {"Normal": 0, "Insert second": 1, "Delete second": 2, "Not synchronised": 3}
MAX_SOURCES = 64


def float_from_wire(raw: int) -> float:
    """chrony's 32-bit float: 7-bit signed exponent, 25-bit signed coefficient,
    ``coef * 2^(exp - 25)``."""
    exponent = raw >> 25
    if exponent >= 64:
        exponent -= 128
    coefficient = raw & 0x1FFFFFF
    if coefficient >= 1 << 24:
        coefficient -= 1 << 25
    return float(coefficient * 2.0 ** (exponent - 25))


def _address(data: bytes) -> str | None:
    family = struct.unpack_from(">H", data, 16)[0]
    if family == 1:
        return str(ipaddress.IPv4Address(data[:4]))
    if family == 2:
        return str(ipaddress.IPv6Address(data[:16]))
    return None


def _refid_name(ref_id: int) -> str:
    if ref_id == LOCAL_REFID:
        return "local"
    raw = ref_id.to_bytes(4, "big").rstrip(b"\0")
    if raw and all(0x20 < b < 0x7F for b in raw):
        return raw.decode("ascii")
    return f"{ref_id:08X}"


def request(command: int, sequence: int, body: bytes = b"") -> bytes:
    """A request packet, padded to the length of its reply as chronyd requires."""
    header = struct.pack(">BBBBHHIII", PROTO_VERSION, PKT_REQUEST, 0, 0, command, 0, sequence, 0, 0)
    packet = header + body
    return packet + b"\0" * max(0, REPLY_LENGTH[command] - len(packet))


def _check_reply(data: bytes, command: int, reply: int, sequence: int) -> bytes:
    if len(data) < 28:
        raise ReaderError(f"chronyd sent a short reply ({len(data)} bytes)")
    version, kind, _, _, echoed, reply_kind, status = struct.unpack_from(">BBBBHHH", data)
    seq = struct.unpack_from(">I", data, 16)[0]
    if version != PROTO_VERSION or kind != PKT_REPLY or echoed != command or seq != sequence:
        raise ReaderError("chronyd sent a reply that does not match the request")
    if status != 0:
        raise ReaderError(f"chronyd refused the request: {STATUS_TEXT.get(status, f'status {status}')}")
    if reply_kind != reply or len(data) < REPLY_LENGTH[command]:
        raise ReaderError(f"chronyd sent reply type {reply_kind}, expected {reply}")
    return data[28:]


@dataclass(frozen=True, slots=True)
class Tracking:
    ref_id: int
    address: str | None
    stratum: int
    leap: int
    ref_time: float  # seconds since the epoch; 0 when never synchronised
    correction: float  # chrony's "System time": positive when the clock is slow
    last_offset: float
    rms_offset: float
    freq_ppm: float
    resid_freq_ppm: float
    skew_ppm: float
    root_delay: float
    root_dispersion: float
    update_interval: float


def parse_tracking(payload: bytes) -> Tracking:
    """The body of an RPY_TRACKING reply (pure)."""
    ref_id = struct.unpack_from(">I", payload, 0)[0]
    address = _address(payload[4:24])
    stratum, leap, high, low, nsec = struct.unpack_from(">HHIII", payload, 24)
    seconds = low if high == 0x7FFFFFFF else (high << 32) | low
    floats = [float_from_wire(x) for x in struct.unpack_from(">9I", payload, 40)]
    return Tracking(ref_id, address, stratum, leap, seconds + nsec / 1e9, *floats)


def parse_source(payload: bytes) -> DaemonSource:
    """The body of an RPY_SOURCE_DATA reply (pure)."""
    address = _address(payload[:20])
    _poll, stratum, state, mode, _flags, reach, since = struct.unpack_from(">hHHHHHI", payload, 20)
    _orig, adjusted, error = (float_from_wire(x) for x in struct.unpack_from(">3I", payload, 36))
    # A reference clock has no address: chrony puts its refid in the address field.
    name = address if address is not None else _refid_name(struct.unpack_from(">I", payload, 0)[0])
    state_name = SOURCE_STATES[state] if state < len(SOURCE_STATES) else f"state_{state}"
    mode_name = SOURCE_MODES[mode] if mode < len(SOURCE_MODES) else f"mode_{mode}"
    return DaemonSource(f"{mode_name} {name}", state_name, stratum, reach, adjusted, error,
                        float(since))


def view_from(tracking: Tracking, sources: list[DaemonSource], now: float) -> DaemonView:
    """Tracking and sources as the normalised view, at wall-clock time ``now`` (pure)."""
    local = tracking.ref_id == LOCAL_REFID
    synced = tracking.leap != 3 and 0 < tracking.stratum < 16 and tracking.ref_time > 0 and not local
    return DaemonView(
        daemon="chrony",
        synced=synced,
        stratum=tracking.stratum,
        reference=tracking.address or _refid_name(tracking.ref_id),
        leap=LEAP_NAMES[tracking.leap] if tracking.leap < 4 else None,
        offset=-tracking.correction,
        root_delay=tracking.root_delay,
        root_dispersion=tracking.root_dispersion,
        age=max(0.0, now - tracking.ref_time) if tracking.ref_time > 0 else None,
        sources=tuple(sources),
        details={"last_offset": tracking.last_offset, "rms_offset": tracking.rms_offset,
                 "freq_ppm": tracking.freq_ppm, "skew_ppm": tracking.skew_ppm,
                 "update_interval": tracking.update_interval,
                 "refid": f"{tracking.ref_id:08X}", **({"local_mode": True} if local else {})},
    )


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes | Exception] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.replies.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        self.replies.put_nowait(exc)


async def read_cmdmon(host: str, port: int, timeout: float) -> DaemonView:
    """Ask chronyd at ``host:port`` (UDP) for tracking and its sources."""
    loop = asyncio.get_running_loop()
    try:
        transport, client = await loop.create_datagram_endpoint(_Client, remote_addr=(host, port))
    except OSError as e:
        raise ReaderError(f"chrony command port {host}:{port}: {e.strerror or e}") from None

    async def ask(command: int, reply: int, body: bytes = b"") -> bytes:
        sequence = secrets.randbits(32)
        transport.sendto(request(command, sequence, body))
        deadline = loop.time() + timeout
        while True:
            try:
                got = await asyncio.wait_for(client.replies.get(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise ReaderError(f"chrony command port {host}:{port}: no answer in {timeout} s") from None
            if isinstance(got, Exception):
                reason = got.strerror if isinstance(got, OSError) and got.strerror else str(got)
                raise ReaderError(f"chrony command port {host}:{port}: {reason}")
            with contextlib.suppress(ReaderError):  # a stray or late packet: keep waiting
                if struct.unpack_from(">I", got, 16)[0] == sequence:
                    return _check_reply(got, command, reply, sequence)

    try:
        tracking = parse_tracking(await ask(REQ_TRACKING, RPY_TRACKING))
        count = struct.unpack_from(">I", await ask(REQ_N_SOURCES, RPY_N_SOURCES))[0]
        sources = [parse_source(await ask(REQ_SOURCE_DATA, RPY_SOURCE_DATA, struct.pack(">i", i)))
                   for i in range(min(count, MAX_SOURCES))]
    finally:
        transport.close()
    return view_from(tracking, sources, time.time())


def _ip_or_none(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def parse_csv(text: str) -> tuple[Tracking, list[DaemonSource]]:
    """The output of ``chronyc -c -n`` given ``tracking`` then ``sources`` (pure)."""
    lines = [line.split(",") for line in text.splitlines() if line.strip()]
    if not lines or len(lines[0]) < 14:
        raise ReaderError(f"chronyc printed no tracking line: {text.strip()[:200]!r}")
    t = lines[0]
    try:
        address = _ip_or_none(t[1])
        tracking = Tracking(
            int(t[0], 16), address, int(t[2]), CSV_LEAP.get(t[13], 3), float(t[3]),
            *(float(x) for x in t[4:13]),
        )
        sources = [
            DaemonSource(f"{CSV_MODES.get(s[0], s[0])} {s[2]}", CSV_STATES.get(s[1], s[1]),
                         int(s[3]), int(s[5], 8), float(s[7]), float(s[9]), float(s[6]))
            for s in lines[1:] if len(s) >= 10
        ]
    except (ValueError, IndexError) as e:
        raise ReaderError(f"cannot read chronyc's output ({e}): {text.strip()[:200]!r}") from None
    return tracking, sources


async def read_chronyc(chronyc: str, socket_path: str | None, timeout: float) -> DaemonView:
    """Run ``chronyc -c -n [-h SOCKET]`` with ``tracking`` and ``sources`` on its input."""
    argv = [chronyc, "-c", "-n", *(["-h", socket_path] if socket_path else [])]
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
    except OSError as e:
        raise ReaderError(f"cannot run {chronyc}: {e.strerror or e}") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(b"tracking\nsources\n"), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ReaderError(f"{chronyc} did not answer in {timeout} s") from None
    text = out.decode(errors="replace")
    if proc.returncode != 0 or "," not in text:
        detail = (err.decode(errors="replace") or text).strip().splitlines()
        raise ReaderError(f"{chronyc}: {detail[-1] if detail else f'exit {proc.returncode}'}")
    tracking, sources = parse_csv(text)
    return view_from(tracking, sources, time.time())

