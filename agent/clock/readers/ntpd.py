"""ntpd's and ntpsec's own view through NTP mode 6 control messages (RFC 9327), the protocol
``ntpq -c rv`` speaks: one READVAR request for the system variables, answered in fragments of
``name=value`` text.

Units and signs: ``offset``, ``rootdelay`` and ``rootdisp`` are milliseconds; ``offset`` is
the server's clock relative to this host (positive: this clock is behind), so the offset
here is its negation. ``reftime`` is an NTP timestamp in hex.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import struct
import time

from agent.clock.readers import LEAP_NAMES, DaemonView, ReaderError

__all__ = ["parse_variables", "read_mode6", "readvar_request", "reassemble", "view_from"]

MODE_CONTROL = 6
OP_READVAR = 2
NTP_EPOCH_OFFSET = 2208988800
_PAIR = re.compile(r'\s*([A-Za-z_][\w.]*)(?:=("(?:[^"\\]|\\.)*"|[^,]*))?\s*(?:,|$)')


def readvar_request(sequence: int) -> bytes:
    """READVAR for the system variables (association 0), NTP version 2 as ntpq sends."""
    return struct.pack(">BBHHHHH", (2 << 3) | MODE_CONTROL, OP_READVAR, sequence, 0, 0, 0, 0)


def reassemble(packets: list[bytes], sequence: int) -> str | None:
    """The text of a fragmented READVAR reply; None while fragments are missing (pure).

    Each response carries ``offset`` and ``count`` of its slice of the text, and the "more"
    bit on every fragment but the last.
    """
    pieces: dict[int, bytes] = {}
    end: int | None = None
    for packet in packets:
        if len(packet) < 12:
            continue
        first, op, seq, _status, _assoc, offset, count = struct.unpack_from(">BBHHHHH", packet)
        if first & 7 != MODE_CONTROL or seq != sequence or not op & 0x80 or op & 0x1F != OP_READVAR:
            continue
        if op & 0x40:
            raise ReaderError("ntpd answered with an error")
        pieces[offset] = packet[12:12 + count]
        if not op & 0x20:
            end = offset + count
    if end is None:
        return None
    text, at = b"", 0
    while at < end:
        piece = pieces.get(at)
        if not piece:
            return None
        text += piece
        at += len(piece)
    return text.decode("ascii", "replace")


def parse_variables(text: str) -> dict[str, str]:
    """``a=1, b="x, y", c`` into a dict; quotes removed (pure)."""
    variables: dict[str, str] = {}
    for match in _PAIR.finditer(text.replace("\r\n", " ").replace("\n", " ")):
        name, value = match.group(1), match.group(2) or ""
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        variables[name] = value.strip()
    return variables


def _ntp_hex_time(text: str) -> float | None:
    match = re.fullmatch(r"0x([0-9a-fA-F]{8})\.([0-9a-fA-F]{8})", text.strip())
    if match is None:
        return None
    seconds = int(match.group(1), 16) + int(match.group(2), 16) / 2**32
    return seconds - NTP_EPOCH_OFFSET if seconds else None


def _number(variables: dict[str, str], name: str) -> float | None:
    try:
        return float(variables[name])
    except (KeyError, ValueError):
        return None


def view_from(variables: dict[str, str], now: float) -> DaemonView:
    """System variables as the normalised view, at wall-clock time ``now`` (pure)."""
    leap_text = variables.get("leap", "")
    leap = int(leap_text, 2) if re.fullmatch(r"[01]{2}", leap_text) else int(leap_text or 3)
    stratum_value = _number(variables, "stratum")
    stratum = int(stratum_value) if stratum_value is not None else None
    reftime = _ntp_hex_time(variables.get("reftime", ""))
    offset_ms = _number(variables, "offset")
    delay_ms = _number(variables, "rootdelay")
    disp_ms = _number(variables, "rootdisp")
    # The undisciplined local clock driver (refid 127.127.1.x, "LOCL") serves the host's own
    # time: ntpd calls that synchronised ("sync_local"); it is not synchronised to UTC.
    refid = variables.get("refid", "")
    local = refid.startswith("127.127.1.") or refid == "LOCL"
    synced = (leap != 3 and stratum is not None and 0 < stratum < 16 and reftime is not None
              and not local)
    return DaemonView(
        daemon="ntpd",
        synced=synced,
        stratum=stratum,
        reference=refid or None,
        leap=LEAP_NAMES[leap] if 0 <= leap < 4 else None,
        offset=-offset_ms / 1000 if offset_ms is not None else None,
        root_delay=delay_ms / 1000 if delay_ms is not None else None,
        root_dispersion=disp_ms / 1000 if disp_ms is not None else None,
        age=max(0.0, now - reftime) if reftime is not None else None,
        details={k: variables[k] for k in ("version", "sys_jitter", "clk_jitter", "clk_wander",
                                           "frequency", "tc", "peer") if k in variables}
        | ({"local_mode": True} if local else {}),
    )


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[bytes] = []
        self.changed = asyncio.Event()
        self.error: Exception | None = None

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.packets.append(data)
        self.changed.set()

    def error_received(self, exc: Exception) -> None:
        self.error = exc
        self.changed.set()


async def read_mode6(host: str, port: int, timeout: float) -> DaemonView:
    """Ask ntpd at ``host:port`` for its system variables."""
    loop = asyncio.get_running_loop()
    where = f"ntpd control port {host}:{port}"
    try:
        transport, client = await loop.create_datagram_endpoint(_Client, remote_addr=(host, port))
    except OSError as e:
        raise ReaderError(f"{where}: {e.strerror or e}") from None
    sequence = secrets.randbits(16) or 1
    deadline = loop.time() + timeout
    try:
        transport.sendto(readvar_request(sequence))
        while True:
            text = reassemble(client.packets, sequence)
            if text is not None:
                break
            if client.error is not None:
                error = client.error
                reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
                raise ReaderError(f"{where}: {reason}")
            client.changed.clear()
            try:
                await asyncio.wait_for(client.changed.wait(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise ReaderError(f"{where}: no answer in {timeout} s") from None
    finally:
        transport.close()
    return view_from(parse_variables(text), time.time())
