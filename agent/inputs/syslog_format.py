"""Syslog messages: TCP framing (RFC 6587) and the header fields of RFC 5424 and RFC 3164.

Pure functions and a small stateful `Framer`; no IO. The timestamp is returned as text: the
event time is found by `chronolog.timestamps` like any other source's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FACILITIES", "SEVERITIES", "Framer", "SyslogMessage", "parse_message"]

FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
              "authpriv", "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2",
              "local3", "local4", "local5", "local6", "local7")
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")

# RFC 3164 §4.3.3: a message without a valid PRI is treated as user.notice.
DEFAULT_PRI = 13

_PRI = re.compile(rb"<(\d{1,3})>")
_RFC3164_TIME = re.compile(rb"[A-Z][a-z]{2} [ 0-3]\d \d\d:\d\d:\d\d(?:\.\d{1,6})?(?: \d{4})?")
_ISO_TIME = re.compile(rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?")
_TAG = re.compile(rb"([^\s:\[]{1,48})(?:\[([^\]\s]{1,128})\])?:? ?")
_SD_PARAM = re.compile(rb'\s*([^\s=\]"]{1,32})="((?:[^"\\]|\\.)*)"')
_BOM = b"\xef\xbb\xbf"


@dataclass(slots=True)
class SyslogMessage:
    facility: str
    severity: str
    format: str  # "rfc5424", "rfc3164" or "unparsed"
    timestamp: str | None
    hostname: str | None
    app: str | None
    procid: str | None
    msgid: str | None
    sd: dict[str, dict[str, str]] | None
    msg: bytes
    problems: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        """The header fields kept as the record's structured fields (absent ones left out)."""
        out: dict[str, Any] = {"facility": self.facility, "severity": self.severity,
                               "syslog_format": self.format}
        for name in ("hostname", "app", "procid", "msgid", "sd"):
            value = getattr(self, name)
            if value:
                out[name] = value
        return out


def _text(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


def _nil(b: bytes) -> str | None:
    return None if b == b"-" else _text(b)


def parse_message(data: bytes) -> SyslogMessage:
    """Parse one message. Never raises: what cannot be parsed is kept whole as the message."""
    data = data.rstrip(b"\r\n\0")
    m = _PRI.match(data)
    pri = int(m.group(1)) if m else DEFAULT_PRI
    if m is None or pri > 191:
        msg = SyslogMessage(FACILITIES[DEFAULT_PRI >> 3], SEVERITIES[DEFAULT_PRI & 7], "unparsed",
                            None, None, None, None, None, None, data)
        msg.problems.append("no valid <PRI>")
        return msg
    facility, severity = FACILITIES[pri >> 3], SEVERITIES[pri & 7]
    rest = data[m.end():]
    if rest[:2] == b"1 ":
        return _rfc5424(facility, severity, rest[2:])
    return _rfc3164(facility, severity, rest)


def _rfc5424(facility: str, severity: str, rest: bytes) -> SyslogMessage:
    # TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, each a token or "-" (RFC 5424 §6).
    parts = rest.split(b" ", 5)
    if len(parts) < 5:
        msg = SyslogMessage(facility, severity, "unparsed", None, None, None, None, None, None, rest)
        msg.problems.append("RFC 5424 header incomplete")
        return msg
    ts, host, app, procid, msgid = parts[:5]
    tail = parts[5] if len(parts) > 5 else b""
    sd, body = _structured_data(tail)
    if body.startswith(_BOM):
        body = body[len(_BOM):]
    return SyslogMessage(facility, severity, "rfc5424", _nil(ts), _nil(host), _nil(app),
                         _nil(procid), _nil(msgid), sd, body)


def _structured_data(tail: bytes) -> tuple[dict[str, dict[str, str]] | None, bytes]:
    """STRUCTURED-DATA (``-`` or ``[id k="v" ...]...``) and the message after it."""
    if tail.startswith(b"-"):
        return None, tail[2:] if tail[1:2] == b" " else tail[1:]
    sd: dict[str, dict[str, str]] = {}
    i = 0
    while tail[i:i + 1] == b"[":
        end_id = i + 1
        while end_id < len(tail) and tail[end_id:end_id + 1] not in (b" ", b"]"):
            end_id += 1
        sd_id = _text(tail[i + 1:end_id])
        params: dict[str, str] = {}
        j = end_id
        while True:
            pm = _SD_PARAM.match(tail, j)
            if pm is None:
                break
            value = re.sub(rb'\\([\\"\]])', rb"\1", pm.group(2))
            params[_text(pm.group(1))] = _text(value)
            j = pm.end()
        if tail[j:j + 1] != b"]":
            return (sd or None), tail[i:]  # malformed: keep the rest as the message
        sd[sd_id] = params
        i = j + 1
    body = tail[i:]
    return (sd or None), body[1:] if body.startswith(b" ") else body


def _rfc3164(facility: str, severity: str, rest: bytes) -> SyslogMessage:
    # TIMESTAMP HOSTNAME TAG[PID]: MSG, leniently (RFC 3164 §4.1; real senders vary): the
    # timestamp may be RFC 3339 (rsyslog's forwarding format), and the host may be absent.
    ts = None
    m = _RFC3164_TIME.match(rest) or _ISO_TIME.match(rest)
    if m:
        ts = _text(m.group(0))
        rest = rest[m.end():].lstrip(b" ")
    host = None
    first, sep, after = rest.partition(b" ")
    if sep and first and not first.endswith(b":") and b"[" not in first and _TAG.match(after):
        host, rest = _text(first), after
    app = procid = None
    tm = _TAG.match(rest)
    if tm and (tm.group(0).rstrip(b" ").endswith(b":") or tm.group(2)):
        app = _text(tm.group(1))
        procid = _text(tm.group(2)) if tm.group(2) else None
        rest = rest[tm.end():]
    return SyslogMessage(facility, severity, "rfc3164", ts, host, app, procid, None, None, rest)


class Framer:
    """Splits a TCP byte stream into messages (RFC 6587): octet counting (``LEN SP MSG``) when
    a frame starts with a digit, else one message per line. A message longer than
    ``max_bytes`` is cut to that size and reported as truncated."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._buf = b""
        self._skip = 0  # octet-counted bytes still to discard (the cut part of a long frame)
        self._skip_line = False  # discarding the rest of an over-long line

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
        """The complete messages in ``data`` (and what came before), as (message, truncated)."""
        buf = self._buf + data
        out: list[tuple[bytes, bool]] = []
        pos = 0
        while pos < len(buf):
            if self._skip:
                n = min(self._skip, len(buf) - pos)
                self._skip -= n
                pos += n
                continue
            if self._skip_line:
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    pos = len(buf)
                    break
                self._skip_line = False
                pos = nl + 1
                continue
            if buf[pos:pos + 1].isdigit():
                sp = buf.find(b" ", pos, pos + 12)
                if sp < 0:
                    if len(buf) - pos >= 12:  # digits but no length: treat as a line
                        found = self._line(buf, pos, out)
                        if found < 0:
                            break
                        pos = found
                        continue
                    break
                length = int(buf[pos:sp]) if buf[pos:sp].isdigit() else -1
                if length < 0:
                    found = self._line(buf, pos, out)
                    if found < 0:
                        break
                    pos = found
                    continue
                start = sp + 1
                if length > self.max_bytes:
                    if len(buf) - start < self.max_bytes:
                        break
                    out.append((buf[start:start + self.max_bytes], True))
                    self._skip = length - self.max_bytes
                    pos = start + self.max_bytes
                    continue
                if len(buf) - start < length:
                    break
                out.append((buf[start:start + length], False))
                pos = start + length
                continue
            found = self._line(buf, pos, out)
            if found < 0:
                break
            pos = found
        self._buf = buf[pos:]
        return out

    def _line(self, buf: bytes, pos: int, out: list[tuple[bytes, bool]]) -> int:
        nl = buf.find(b"\n", pos)
        if nl < 0:
            if len(buf) - pos > self.max_bytes:
                out.append((buf[pos:pos + self.max_bytes], True))
                self._skip_line = True
                return len(buf)
            return -1
        line = buf[pos:nl]
        if len(line) > self.max_bytes:
            out.append((line[: self.max_bytes], True))
        elif line.strip(b"\r"):
            out.append((line, False))
        return nl + 1
