"""Every format family: real-looking samples, and round trips through each layout.

The round trips write a time in a format (with Python's strftime, independent of the parser)
in a spread of zones and check it reads back as the same instant, or, for a local time in a
DST change, as the documented choice with its flag.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import pytz
from hypothesis import given, settings
from hypothesis import strategies as st
from support.timestamps import EDGES, ZONES, near_a_change, oracle, us

from chronolog.timefmt import parse_rfc3339, to_rfc3339
from chronolog.timestamps import Normalizer

READ = parse_rfc3339("2026-11-27T12:00:00+09:00")

# line, the event time in Asia/Tokyo (the source zone here), ts_source, ts_raw, format
SAMPLES = [
    # ISO 8601 / RFC 3339 and the many logs written that way
    ("2026-11-27T00:14:03.118Z GET /login 200", "2026-11-27T09:14:03.118000+09:00", "explicit",
     "2026-11-27T00:14:03.118Z", "iso8601"),
    ("<165>1 2026-11-27T09:14:03.003+09:00 web-1 app 4242 ID47 - login ok",
     "2026-11-27T09:14:03.003000+09:00", "explicit", "2026-11-27T09:14:03.003+09:00", "iso8601"),  # RFC 5424
    ("2026-11-27 09:14:03,118 INFO  [main] c.e.Login - ok", "2026-11-27T09:14:03.118000+09:00",
     "assumed_zone", "2026-11-27 09:14:03,118", "iso8601"),  # log4j / logback / Python logging
    ("2026-11-27 09:14:03, Info                  CBS    Loaded Servicing Stack",
     "2026-11-27T09:14:03.000000+09:00", "assumed_zone", "2026-11-27 09:14:03", "iso8601"),  # Windows CBS
    ("2026-11-27 00:14:03.118 UTC [4242] LOG:  checkpoint starting", "2026-11-27T09:14:03.118000+09:00",
     "explicit", "2026-11-27 00:14:03.118 UTC", "iso8601"),  # PostgreSQL
    ("2026-11-27 09:14:03.118234 +0900 JST m=+0.001", "2026-11-27T09:14:03.118234+09:00", "explicit",
     "2026-11-27 09:14:03.118234 +0900", "iso8601"),  # Go time.Time.String()
    ("2026-11-27T09:14:03.118234567+09:00 ns", "2026-11-27T09:14:03.118234+09:00", "explicit",
     "2026-11-27T09:14:03.118234567+09:00", "iso8601"),
    ("20261127T001403Z backup done", "2026-11-27T09:14:03.000000+09:00", "explicit", "20261127T001403Z",
     "iso8601_basic"),
    # RFC 3164
    ("<34>Nov 27 09:14:03 web-1 sshd[4242]: Accepted publickey", "2026-11-27T09:14:03.000000+09:00",
     "inferred_year", "Nov 27 09:14:03", "rfc3164"),
    ("Nov  7 09:14:03 web-1 kernel: eth0 up", "2026-11-07T09:14:03.000000+09:00", "inferred_year",
     "Nov  7 09:14:03", "rfc3164"),
    # Apache and nginx
    ('203.0.113.7 - - [27/Nov/2026:00:14:03 +0000] "POST /login HTTP/1.1" 200 512 "-" "curl/8.5"',
     "2026-11-27T09:14:03.000000+09:00", "explicit", "27/Nov/2026:00:14:03 +0000", "clf"),
    ("[Fri Nov 27 09:14:03.118234 2026] [core:error] [pid 4242:tid 17] [client 203.0.113.7:5123] AH00126",
     "2026-11-27T09:14:03.118234+09:00", "assumed_zone", "Nov 27 09:14:03.118234 2026", "ctime"),
    ("2026/11/27 09:14:03 [error] 4242#4242: *1 open() failed (2: No such file)",
     "2026-11-27T09:14:03.000000+09:00", "assumed_zone", "2026/11/27 09:14:03", "slash"),
    # Java, Go, Android, Hadoop/HDFS/Spark
    ("27 Nov 2026 09:14:03,118 ERROR [pool-1] Worker - failed", "2026-11-27T09:14:03.118000+09:00",
     "assumed_zone", "27 Nov 2026 09:14:03,118", "rfc2822"),  # log4j %d{DATE}
    ("20261127091403118 INFO compact", "2026-11-27T09:14:03.118000+09:00", "assumed_zone",
     "20261127091403118", "compact"),  # log4j %d{COMPACT}
    ("2026/11/27 09:14:03.118234 main.go:42: listening", "2026-11-27T09:14:03.118234+09:00", "assumed_zone",
     "2026/11/27 09:14:03.118234", "slash"),  # Go log with Lmicroseconds
    ("11-27 09:14:03.118  1234  1250 I ActivityManager: Start proc", "2026-11-27T09:14:03.118000+09:00",
     "inferred_year", "11-27 09:14:03.118", "logcat"),
    ("081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating",
     "2008-11-09T20:36:15.000000+09:00", "assumed_zone", "081109 203615", "hdfs"),
    ("17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers",
     "2017-06-09T20:10:40.000000+09:00", "assumed_zone", "17/06/09 20:10:40", "slash_short_year"),  # Spark
    ("Fri, 27 Nov 2026 00:14:03 GMT mail delivered", "2026-11-27T09:14:03.000000+09:00", "explicit",
     "27 Nov 2026 00:14:03 GMT", "rfc2822"),
    # Epoch counts, at the start of a line and in JSON fields
    ("1795739643 cron[1]: job done", "2026-11-27T09:34:03.000000+09:00", "explicit", "1795739643", "epoch"),
    ("1795739643.118  1234  1250 I Tag: logcat -v epoch", "2026-11-27T09:34:03.118000+09:00", "explicit",
     "1795739643.118", "epoch"),
    ("1795739643118 ms", "2026-11-27T09:34:03.118000+09:00", "explicit", "1795739643118", "epoch"),
    ("[1795739643118234] µs", "2026-11-27T09:34:03.118234+09:00", "explicit", "1795739643118234", "epoch"),
    ("1795739643118234567 ns", "2026-11-27T09:34:03.118234+09:00", "explicit", "1795739643118234567",
     "epoch"),
    ('{"level":"info","ts":1795739643.118,"caller":"main.go:12","msg":"zap"}',
     "2026-11-27T09:34:03.118000+09:00", "explicit", "1795739643.118", "json"),
    ('{"level":30,"time":1795739643118,"pid":7,"msg":"pino"}', "2026-11-27T09:34:03.118000+09:00", "explicit",
     "1795739643118", "json"),
    ('{"msg":"job from 2026-01-01T00:00:00Z","@timestamp":"2026-11-27T00:14:03.118Z"}',
     "2026-11-27T09:14:03.118000+09:00", "explicit", "2026-11-27T00:14:03.118Z", "json"),
    ('{"t":{"$date":"2026-11-27T09:14:03.118+09:00"},"s":"I","c":"NETWORK","msg":"mongod"}',
     "2026-11-27T09:14:03.118000+09:00", "explicit", "2026-11-27T09:14:03.118+09:00", "json"),
    ('{"ts" : "1795739643.118", "msg": "an epoch in a string"}', "2026-11-27T09:34:03.118000+09:00",
     "explicit", "1795739643.118", "json"),
    # Epoch counts in an early field, checked against a calendar time on the line (HPC,
    # Thunderbird, Blue Gene/L as in public log collections; auditd)
    ("134681 node-246 unix.hw state_change.unavailable 1795739643 1 Component State Change",
     "2026-11-27T09:34:03.000000+09:00", "explicit", "1795739643", "epoch_field"),
    ("- 1795739643 2026.11.27 dn228 Nov 27 09:34:03 dn228/dn228 crond[2915]: session closed",
     "2026-11-27T09:34:03.000000+09:00", "explicit", "1795739643", "epoch_field"),
    ("- 1795739643 2026.11.27 R02-M1-N0-C:J12-U11 2026-11-27-00.34.03.675872 R02-M1-N0-C:J12-U11 RAS",
     "2026-11-27T09:34:03.675872+09:00", "explicit",
     "1795739643 2026.11.27 R02-M1-N0-C:J12-U11 2026-11-27-00.34.03.675872", "epoch_field"),
    ("type=SYSCALL msg=audit(1795739643.118:24287): arch=c000003e syscall=2",
     "2026-11-27T09:34:03.118000+09:00", "explicit", "1795739643.118", "epoch_field"),
    ("2026-11-27-09.14.03.118234 DB2 timestamp", "2026-11-27T09:14:03.118234+09:00", "assumed_zone",
     "2026-11-27-09.14.03.118234", "db2"),
    ('{"time": "27/Nov/2026:00:14:03 +0000", "status": 200}', "2026-11-27T09:14:03.000000+09:00", "explicit",
     "27/Nov/2026:00:14:03 +0000", "json"),  # nginx JSON log_format with $time_local
]


@pytest.mark.parametrize(("line", "ts", "source", "raw", "fmt"), SAMPLES,
                         ids=[s[4] + ":" + s[0][:30] for s in SAMPLES])
def test_each_family_is_detected_and_read(line: str, ts: str, source: str, raw: str, fmt: str) -> None:
    normalizer = Normalizer("Asia/Tokyo")
    event = normalizer.normalize(line, READ)
    assert (to_rfc3339(event.ts, "Asia/Tokyo"), event.source, event.raw, normalizer.last_format) == (
        ts, source, raw, fmt)


@pytest.mark.parametrize("line", [
    "2026-13-01T00:00:00Z month 13", "2026-02-30 10:00:00 no such day", "2026-11-27T24:00:00Z",
    "2026-11-27T09:60:00Z", "Feb 30 10:00:00 host x", "32/Nov/2026:00:14:03 +0000",
    "2026-11-27T09:14:03+1900",
    "1969-12-31T23:59:59Z before 1970", "2200-01-01T00:00:00Z after 2199", "9999999999999999999 too many ns",
    "099999 235959 month 99", "17/13/40 20:10:40 not a date",
])
def test_impossible_or_out_of_range_times_are_not_timestamps(line: str) -> None:
    assert Normalizer("UTC").normalize(line, READ).source == "read_time"


def test_a_leap_second_is_held_at_59() -> None:
    event = Normalizer("UTC").normalize("2016-12-31T23:59:60.5Z leap", READ)
    assert to_rfc3339(event.ts, "UTC") == "2016-12-31T23:59:59.500000+00:00"


# --- Round trips -------------------------------------------------------------------------

def _frac(a: dt.datetime, digits: int) -> str:
    return f"{a.microsecond:06d}"[:digits]


def _offset(a: dt.datetime, colon: bool) -> str:
    text = a.strftime("%z")
    return text[:3] + ":" + text[3:] if colon else text


# Layouts that carry their offset (or are epoch counts): (fraction digits kept, writer of an
# aware datetime in the source zone).
EXPLICIT: dict[str, tuple[int, Callable[[dt.datetime], str]]] = {
    "rfc3339": (6, lambda a: a.strftime("%Y-%m-%dT%H:%M:%S.") + _frac(a, 6) + _offset(a, True) + " x"),
    "rfc3339 utc": (3, lambda a: a.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S,") + _frac(a, 3) + "Z x"),
    "iso compact offset": (0, lambda a: a.strftime("%Y-%m-%dT%H:%M:%S%z x")),
    "go time": (6, lambda a: a.strftime("%Y-%m-%d %H:%M:%S.") + _frac(a, 6) + a.strftime(" %z %Z x")),
    "rfc5424": (6, lambda a: "<13>1 " + a.strftime("%Y-%m-%dT%H:%M:%S.") + _frac(a, 6) + _offset(a, True)
                + " host app - - x"),
    "iso basic": (0, lambda a: a.astimezone(dt.UTC).strftime("backup-%Y%m%dT%H%M%SZ done")),
    "clf": (0, lambda a: a.strftime('203.0.113.7 - - [%d/%b/%Y:%H:%M:%S %z] "GET / HTTP/1.1" 200')),
    "rfc2822": (0, lambda a: a.strftime("%a, %d %b %Y %H:%M:%S %z mail")),
    "epoch s": (0, lambda a: f"{int(a.timestamp())} x"),
    "epoch s.frac": (3, lambda a: f"{int(a.timestamp())}.{_frac(a, 3)} x"),
    "epoch ms": (3, lambda a: f"{int(a.timestamp())}{_frac(a, 3)} x"),
    "epoch µs": (6, lambda a: f"[{int(a.timestamp())}{_frac(a, 6)}] x"),
    "epoch ns": (6, lambda a: f"{int(a.timestamp())}{_frac(a, 6)}789 x"),
    "json epoch": (6, lambda a: f'{{"level":"info","ts":{int(a.timestamp())}.{_frac(a, 6)},"msg":"x"}}'),
    "json iso": (3, lambda a: '{"msg":"x","@timestamp":"' + a.strftime("%Y-%m-%dT%H:%M:%S.") + _frac(a, 3)
                 + _offset(a, True) + '"}'),
}

# Layouts without an offset: (fraction digits kept, writer of a naive local datetime, years).
LOCAL: dict[str, tuple[int, Callable[[dt.datetime], str], tuple[int, int]]] = {
    "iso local T": (6, lambda w: w.strftime("%Y-%m-%dT%H:%M:%S.%f x"), (1971, 2199)),
    "log4j default": (3, lambda w: w.strftime("%Y-%m-%d %H:%M:%S,") + _frac(w, 3) + " INFO [main] x",
                      (1971, 2199)),
    "python logging": (3, lambda w: w.strftime("%Y-%m-%d %H:%M:%S,") + _frac(w, 3) + " - root - INFO - x",
                       (1971, 2199)),
    "windows": (0, lambda w: w.strftime("%Y-%m-%d %H:%M:%S, Info CBS x"), (1971, 2199)),
    "apache error": (6, lambda w: w.strftime("[%a %b %d %H:%M:%S.%f %Y] [core:error] x"), (1971, 2199)),
    "ctime": (0, lambda w: w.strftime("%a %b ") + f"{w.day:2d}" + w.strftime(" %H:%M:%S %Y x"), (1971, 2199)),
    "log4j date": (3, lambda w: w.strftime("%d %b %Y %H:%M:%S,") + _frac(w, 3) + " ERROR x", (1971, 2199)),
    "nginx error": (0, lambda w: w.strftime("%Y/%m/%d %H:%M:%S [error] 1#1: x"), (1971, 2199)),
    "go log": (6, lambda w: w.strftime("%Y/%m/%d %H:%M:%S.%f main.go:1: x"), (1971, 2199)),
    "spark": (0, lambda w: w.strftime("%y/%m/%d %H:%M:%S INFO x"), (1971, 2068)),
    "hdfs": (0, lambda w: w.strftime("%y%m%d %H%M%S 148 INFO x"), (1971, 2068)),
    "log4j compact": (3, lambda w: w.strftime("%Y%m%d%H%M%S") + _frac(w, 3) + " x", (1971, 2199)),
}

# Layouts without a year: (fraction digits kept, writer of a naive local datetime).
YEARLESS: dict[str, tuple[int, Callable[[dt.datetime], str]]] = {
    "rfc3164": (0, lambda w: w.strftime("<34>%b ") + f"{w.day:2d}" + w.strftime(" %H:%M:%S host app[1]: x")),
    "rfc3164 fraction": (6, lambda w: w.strftime("%b %d %H:%M:%S.%f host app: x")),
    "logcat": (3, lambda w: w.strftime("%m-%d %H:%M:%S.") + _frac(w, 3) + "  1234  1250 I Tag: x"),
}


def _truncate(ts: int, digits: int) -> int:
    unit = 10 ** (6 - digits)
    return ts - ts % unit


@settings(max_examples=60)
@pytest.mark.parametrize("layout", sorted(EXPLICIT))
@given(zone=st.sampled_from(ZONES),
       when=st.datetimes(dt.datetime(2001, 9, 10), dt.datetime(2199, 12, 31), timezones=st.just(dt.UTC)))
def test_a_time_with_its_offset_reads_back_as_the_same_instant(
        layout: str, zone: str, when: dt.datetime) -> None:
    digits, write = EXPLICIT[layout]
    aware = when.astimezone(pytz.timezone(zone))
    line = write(aware)
    event = Normalizer("Asia/Tokyo").normalize(line, READ)  # not the writer's zone: unused
    assert (event.ts, event.source, event.flags) == (_truncate(us(when), digits), "explicit", ()), line


@st.composite
def local_times(draw: st.DrawFn, first: int, last: int) -> tuple[str, dt.datetime]:
    """A zone and a wall time in it: half of them within two hours of a DST (or other) change."""
    edges = [(z, t) for z, t in EDGES if first < t.year < last]
    if draw(st.booleans()):
        zone, utc = draw(st.sampled_from(edges))
        wall = near_a_change(zone, utc, draw(st.integers(-7200, 7200)))
        return zone, wall.replace(microsecond=draw(st.integers(0, 999_999)))
    zone = draw(st.sampled_from(ZONES))
    return zone, draw(st.datetimes(dt.datetime(first, 1, 2), dt.datetime(last, 12, 30)))


@settings(max_examples=80)
@pytest.mark.parametrize("layout", sorted(LOCAL))
@given(data=st.data())
def test_a_local_time_reads_back_in_the_source_zone_with_the_dst_choice(
        layout: str, data: st.DataObject) -> None:
    digits, write, (first, last) = LOCAL[layout]
    zone, wall = data.draw(local_times(first, last))
    wall = wall.replace(microsecond=_truncate(wall.microsecond, digits))
    expected, flags = oracle(wall, zone)
    line = write(wall)
    event = Normalizer(zone).normalize(line, READ)
    assert (event.ts, event.source, event.flags) == (expected, "assumed_zone", flags), line


@settings(max_examples=80)
@pytest.mark.parametrize("layout", sorted(YEARLESS))
@given(local=local_times(1972, 2190), later=st.integers(-86400, 300 * 86400))
def test_a_yearless_time_reads_back_in_its_year(
        layout: str, local: tuple[str, dt.datetime], later: int) -> None:
    digits, write = YEARLESS[layout]
    zone, wall = local
    wall = wall.replace(microsecond=_truncate(wall.microsecond, digits))
    expected, flags = oracle(wall, zone)
    read = expected + later * 1_000_000  # read up to 300 days later, or (a clock ahead) a day before
    event = Normalizer(zone).normalize(write(wall), read)
    assert (event.ts, event.source, event.flags) == (expected, "inferred_year", flags), write(wall)


def test_every_detected_format_has_a_sample_and_a_round_trip() -> None:
    from chronolog.timestamps.formats import DETECTED
    assert {f.name for f in DETECTED} == {s[4] for s in SAMPLES}


def test_an_epoch_field_is_only_taken_early_in_the_line() -> None:
    normalizer = Normalizer("UTC")
    assert normalizer.normalize("134681 node-246 unix.hw state 1795739643 1 x", READ).source == "explicit"
    # Known for the source now, but a count past the first fields is still no time.
    late = "a " * 100 + "1795739643 " + "1795739643 " * 5000
    assert normalizer.normalize(late, READ).source == "read_time"
