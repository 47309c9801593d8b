"""Syslog framing and header parsing (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.syslog_format import Framer, parse_message


def test_rfc5424_header_fields_and_structured_data() -> None:
    m = parse_message(b'<34>1 2026-11-27T09:14:03.118+09:00 web-1 su 123 ID47 '
                      b'[origin ip="192.0.2.1"][x@32473 a="q\\"uote" b="br\\]acket"] \xef\xbb\xbfsu failed')
    assert (m.format, m.facility, m.severity) == ("rfc5424", "auth", "crit")
    assert (m.timestamp, m.hostname, m.app, m.procid, m.msgid) == (
        "2026-11-27T09:14:03.118+09:00", "web-1", "su", "123", "ID47")
    assert m.sd == {"origin": {"ip": "192.0.2.1"}, "x@32473": {"a": 'q"uote', "b": "br]acket"}}
    assert m.msg == b"su failed"


def test_rfc5424_nil_values_are_absent() -> None:
    m = parse_message(b"<165>1 - - - - - - just text")
    assert (m.timestamp, m.hostname, m.app, m.procid, m.msgid, m.sd) == (None,) * 6
    assert m.msg == b"just text" and "hostname" not in m.fields()


@pytest.mark.parametrize("raw, ts, host, app, pid, msg", [
    (b"<13>Nov 27 09:14:03 web-1 sshd[42]: Accepted key", "Nov 27 09:14:03", "web-1", "sshd", "42",
     b"Accepted key"),
    (b"<13>Nov  7 09:14:03 cron: job ran", "Nov  7 09:14:03", None, "cron", None, b"job ran"),
    (b"<13>2026-11-27T09:14:03+09:00 db-2 app: ok", "2026-11-27T09:14:03+09:00", "db-2", "app", None,
     b"ok"),
])
def test_rfc3164_as_real_senders_write_it(raw: bytes, ts: str, host: str | None, app: str,
                                          pid: str | None, msg: bytes) -> None:
    m = parse_message(raw)
    assert (m.format, m.timestamp, m.hostname, m.app, m.procid, m.msg) == ("rfc3164", ts, host, app, pid, msg)


def test_no_pri_is_kept_whole_as_user_notice() -> None:
    junk = b"\xff\xfe binary \x00 junk"
    m = parse_message(junk)
    assert (m.format, m.facility, m.severity, m.msg) == ("unparsed", "user", "notice", junk)
    assert m.problems == ["no valid <PRI>"]


def test_octet_counting_and_newline_framing_mix_across_reads() -> None:
    framer = Framer(1000)
    got = framer.feed(b"12 <13>abc\ndefg5 hel")
    got += framer.feed(b"lo<13>line one\n<13>li")
    got += framer.feed(b"ne two\n")
    assert got == [(b"<13>abc\ndefg", False), (b"hello", False), (b"<13>line one", False),
                   (b"<13>line two", False)]


def test_an_overlong_message_is_cut_and_the_stream_stays_in_step() -> None:
    framer = Framer(480)
    data = b"1000 " + b"x" * 1000 + b"3 abc" + b"y" * 700 + b"\nok\n"
    got = [m for i in range(0, len(data), 100) for m in framer.feed(data[i:i + 100])]
    assert got == [(b"x" * 480, True), (b"abc", False), (b"y" * 480, True), (b"ok", False)]


@given(st.lists(st.binary(min_size=1, max_size=200), max_size=20), st.integers(1, 50))
def test_octet_counted_frames_come_back_whole_however_the_bytes_are_split(
        messages: list[bytes], step: int) -> None:
    data = b"".join(str(len(m)).encode() + b" " + m for m in messages)
    framer = Framer(1 << 16)
    got = [m for i in range(0, len(data), step) for m, _ in framer.feed(data[i:i + step])]
    assert got == messages


@given(st.binary(max_size=300))
def test_parsing_never_raises(data: bytes) -> None:
    m = parse_message(data)
    assert m.severity and m.facility
