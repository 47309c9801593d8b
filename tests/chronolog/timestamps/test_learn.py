"""The layout learner: candidate layouts from one line, the evidence that settles a source,
and random layouts from its token grammar (every instant recovered, or the line flagged)."""

from __future__ import annotations

import datetime as dt

import pytest
import pytz
from hypothesis import given, settings
from hypothesis import strategies as st
from support.timestamps import oracle

from chronolog.timefmt import parse_rfc3339, to_rfc3339
from chronolog.timestamps import Normalizer
from chronolog.timestamps.learn import Learner, propose
from chronolog.timestamps.resolve import Resolver

READ = parse_rfc3339("2026-11-27T12:00:00+09:00")


@pytest.mark.parametrize(("line", "layouts"), [
    ("[10.30 16:49:06] chrome.exe - proxy.example:5070 open", ["%m.%d %H:%M:%S"]),  # Proxifier
    ("20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579", ["%Y%m%d-%H:%M:%S:%L"]),  # HealthApp
    # HealthApp's real lines: Java's yyyyMd-H:m:s:S, nothing padded
    ("20171224-0:12:1:23|Step_LSC|30002312|processHandleBroadcastAction", ["%Y%m%d-%H:%M:%S:%L"]),
    ("201812-19:39:28:966|Step_StandStepDataManager|30002312|x", ["%Y%-m%-d-%H:%M:%S:%L"]),
    ("2018111-0:0:0:1|Step_LSC|30002312|x", ["%Y%-m%-d-%H:%M:%S:%L"]),
    ("201111-10:00:00 x", ["%y%m%d-%H:%M:%S", "%Y%-m%-d-%H:%M:%S"]),  # 2020-11-11 or 2011-01-01
    ("2024-05-15 17:4:2 x", ["%Y-%m-%d %H:%M:%S"]),
    ("2026-11-27  9:14:03 0 [Note] Starting MariaDB", ["%Y-%m-%d %H:%M:%S"]),
    ("I1127 09:14:03.118234   12345 main.go:42] msg", ["%m%d %H:%M:%S.%f"]),  # klog
    ("Nov 27, 2026 9:14:03 PM org.apache.catalina.startup.Catalina start", ["%b %d, %Y %I:%M:%S %p"]),
    ("27-Nov-2026 09:14:03.118 INFO [main] org.apache.catalina", ["%d-%b-%Y %H:%M:%S.%f"]),  # Tomcat
    # Snort
    ("11/08-19:45:02.564285 [**] [1:2013504:4] ET POLICY", ["%m/%d-%H:%M:%S.%f", "%d/%m-%H:%M:%S.%f"]),
    ('[27/Nov/2026 09:14:03] "GET / HTTP/1.1" 200 1234', ["%d/%b/%Y %H:%M:%S"]),  # Django
    ("=INFO REPORT==== 27-Nov-2026::09:14:03 ===", ["%d-%b-%Y::%H:%M:%S"]),  # Erlang
    ("[11/27/26 9:14:03:118 JST] 00000001 WebContainer", ["%m/%d/%y %H:%M:%S:%L %Z"]),  # WebSphere
    ("####<Nov 27, 2026 9:14:03,118 AM JST> <Info>", ["%b %d, %Y %I:%M:%S,%f %p %Z"]),  # WebLogic
    ("Fri Nov 27 2026 09:14:03 GMT+0900 (Japan Standard Time)", ["%b %d %Y %H:%M:%S %z"]),  # JavaScript
    ("00,11/27/26,09:14:03,Started,,,,,0,6", ["%m/%d/%y,%H:%M:%S"]),  # Windows DHCP
    ("[12345] 27 Nov 09:14:03.118 # Server started", ["%d %b %H:%M:%S.%f"]),  # old Redis
    ("date=2026-11-27 time=09:14:03 devname=fw1", ["%Y-%m-%d time=%H:%M:%S"]),  # key=value
    ("05/11/2026 10:00:00 x", ["%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S"]),
    ("27.11.2026 14:37:38 x", ["%d.%m.%Y %H:%M:%S"]),
    ("09:14:03.118 [main] INFO c.e.App - started", ["%H:%M:%S.%f"]),  # logback's default
    ("lifetime 00:01 sent 5", []),
    ("version 1.2.3 built 09:14:03", []),
    # A time the line goes on from is none: no layout stops in the middle of it.
    ("12:34:567 x", []),
    ("2001:db8:0:12:34:56:78:9a reachable", []),
    ("10,11/27/26,09:14:03,5,6", ["%m/%d/%y,%H:%M:%S"]),  # a CSV field after the seconds is no fraction
    ("09:14:03 pm1 sshd[1]: x", ["%H:%M:%S"]),  # pm1 is a host, not PM
])
def test_candidate_layouts_of_one_line(line: str, layouts: list[str]) -> None:
    assert [p.layout for p in propose(line)] == layouts


def test_a_day_above_twelve_settles_the_order() -> None:
    learner = Learner(Resolver("UTC"))
    first = learner.read("05/11/2026 10:00:00 x", READ)
    assert first is not None and "layout_unsettled" in first[0].flags
    assert learner.settled is None and len(learner.layouts()) == 2
    third = learner.read("13/11/2026 10:00:00 x", READ)
    assert third is not None
    assert (to_rfc3339(third[0].ts, "UTC"), third[0].flags) == (
        "2026-11-13T10:00:00.000000+00:00", ("learned",))
    assert learner.layouts() == ["%d/%m/%Y %H:%M:%S"]
    assert learner.settled is not None
    assert [r.layout for r in learner.rejected] == ["%m/%d/%Y %H:%M:%S"]


def test_going_back_in_time_counts_against_a_candidate() -> None:
    learner = Learner(Resolver("UTC"))
    for line in ("11/30 23:59:00 a", "12/01 00:01:00 b"):  # month first: a minute apart
        assert learner.read(line, READ) is not None
    # Day first would read 11 Dec 2025 then 12 Jan 2026, but "12/01" would have to go back
    # from 30 Nov... whichever: only one order keeps the lines valid and in order.
    assert learner.layouts() == ["%m/%d %H:%M:%S"]


def test_a_time_after_the_read_time_counts_against_a_candidate() -> None:
    # Read on 2026-05-12: day first (5 November 2026) is six months ahead.
    learner = Learner(Resolver("UTC"))
    found = learner.read("05/11/2026 10:00:00 x", parse_rfc3339("2026-05-12T00:00:00Z"))
    assert found is not None and to_rfc3339(found[0].ts, "UTC") == "2026-05-11T10:00:00.000000+00:00"
    assert learner.layouts() == ["%m/%d/%Y %H:%M:%S"]


def test_a_settled_layout_is_kept_by_the_dispatcher_and_restored_from_its_state() -> None:
    normalizer = Normalizer("UTC")
    normalizer.normalize("[10.30 16:49:06] chrome.exe - open", READ)
    assert normalizer.cached is not None and normalizer.cached.layout == "%m.%d %H:%M:%S"
    restored = Normalizer("UTC", learned=normalizer.learned_layouts())
    assert restored.cached is not None and restored.cached.layout == "%m.%d %H:%M:%S"
    event = restored.normalize("[10.31 00:00:01] chrome.exe - close", READ)
    assert (to_rfc3339(event.ts, "UTC"), event.source, event.flags) == (
        "2026-10-31T00:00:01.000000+00:00", "inferred_year", ("learned",))


# --- Random layouts from the token grammar ------------------------------------------------

# Zones whose abbreviations are in the table (or resolved by the zone itself).
NAMED_ZONES = ["UTC", "Asia/Tokyo", "America/New_York", "Europe/London", "Asia/Kolkata",
               "Australia/Sydney", "Europe/Berlin", "America/Chicago"]
ZONES = [*NAMED_ZONES, "Australia/Lord_Howe", "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham"]


@st.composite
def layouts(draw: st.DrawFn) -> tuple[str, str]:
    """A layout (strftime, with glibc's ``%-`` for a field written without padding) and what
    kind of date it has: "full", "run" (one digit run: ``20171223``, ``201812``), "yearless"
    or "none"."""
    kind = draw(st.sampled_from(["full", "full", "run", "yearless", "none"]))
    named = draw(st.booleans())
    sep = draw(st.sampled_from([" ", "-", "/"] if named else ["-", "/", "."]))
    pad = draw(st.sampled_from(["", "", "-"]))  # Java's M and d: 2026-5-3
    month = "%b" if named else f"%{pad}m"
    day = f"%{pad}d"
    year = "%Y" if named or draw(st.booleans()) else "%y"
    if kind == "full":
        order = draw(st.sampled_from(["ymd", "dmy", "mdy"]))
        if order == "ymd" and year == "%y" and not named:
            year = "%Y"
        parts = {"y": year, "m": month, "d": day}
        date = sep.join(parts[c] for c in order)
    elif kind == "run":
        date = draw(st.sampled_from(["%Y%m%d", "%Y%-m%-d"]))  # HealthApp's yyyyMd
    elif kind == "yearless":
        date = sep.join(draw(st.permutations([month, day])))
    else:
        date = ""
    time_sep = draw(st.sampled_from([":", ":", "."])) if date else ":"  # a dotted time alone is too weak
    twelve = time_sep == ":" and draw(st.booleans())
    # After ":", each field may be unpadded (Java's H:m:s); a dotted time is always padded.
    flags = st.sampled_from(["", "-"] if time_sep == ":" else [""])
    time = time_sep.join("%" + draw(flags) + f for f in ["I" if twelve else "H", "M", "S"])
    fraction = draw(st.sampled_from(["", ".%f", ",%f"] + ([":%3", ":%-3"] if time_sep == ":" else [])))
    time += fraction
    if twelve:
        time += draw(st.sampled_from([" %p", "%p"]))
    if date:
        glues = [" ", "T", "-", "|", ":", "_", ", "] if not named else [" ", ":", "|"]
        glue = draw(st.sampled_from(glues if kind != "run" else [" ", "-", "|"]))
        stamp = date + glue + time
    else:
        stamp = time
    if kind != "none":
        stamp += draw(st.sampled_from(["", " %z", "%z", " %Z"]))
    prefix = draw(st.sampled_from(["", "[", "INFO ", "host-a app: ", "<main> "])) if kind != "none" else ""
    return prefix + stamp + draw(st.sampled_from([" message text", "] done", " | x=1"])), kind


def write(layout: str, aware: dt.datetime) -> str:
    """The line, as strftime (glibc) writes it; ``%3`` / ``%-3``: milliseconds as a count,
    padded or not (Java's SSS and S)."""
    millis = aware.microsecond // 1000
    return aware.strftime(layout.replace("%-3", str(millis)).replace("%3", f"{millis:03d}"))


@settings(max_examples=400, deadline=None)
@given(spec=layouts(), zone=st.sampled_from(ZONES),
       when=st.datetimes(dt.datetime(1971, 1, 2), dt.datetime(2067, 12, 30)),
       later=st.integers(0, 200 * 86400), close=st.integers(-6 * 3600, 6 * 3600))
def test_a_random_layout_is_recovered_or_the_line_flagged(
        spec: tuple[str, str], zone: str, when: dt.datetime, later: int, close: int) -> None:
    layout, kind = spec
    if "%Z" in layout and zone not in NAMED_ZONES:
        zone = "UTC"
    tz = pytz.timezone(zone)
    expected, _ = oracle(when, zone)
    aware = dt.datetime.fromtimestamp(expected / 1e6, tz)
    if "%Z" in layout and aware.tzname() not in ("UTC", "GMT", "JST", "EST", "EDT", "BST", "IST", "AEST",
                                                  "AEDT", "CET", "CEST", "CST", "CDT"):
        layout = layout.replace(" %Z", "")
    line = write(layout, aware)
    if "%3" in layout or "%-3" in layout:
        expected -= expected % 1_000
    elif "%f" not in layout:
        expected -= expected % 1_000_000
    shift = later if kind == "yearless" else close if kind == "none" else 0
    read = expected + shift * 1_000_000
    found = Learner(Resolver(zone)).read(line, read)
    assert found is not None, (layout, line)
    event = found[0]
    uncertain = {"layout_unsettled", "dst_ambiguous", "dst_nonexistent", "zone_ambiguous"}
    assert event.ts == expected or uncertain & set(event.flags), (layout, line, to_rfc3339(event.ts, "UTC"),
                                                                    to_rfc3339(expected, "UTC"), event.flags)
    assert "learned" in event.flags
    assert event.raw is not None and event.raw in line


# A whole source written with unpadded fields (Java's M, d, H, m, s, S), from a padded date
# to 6- and 7-digit ones and back: every line right or flagged, and the source settles.
SOURCE_LAYOUTS = ["%Y%-m%-d-%-H:%-M:%-S:%-3|Step_LSC|30002312|x", "%-d.%-m.%Y %-H:%-M:%-S x",
                  "%Y-%-m-%-d %-H:%-M:%-S,%3 x", "[%-m/%-d/%y %-H:%-M:%-S:%3 JST] x"]


@settings(max_examples=60, deadline=None)
@given(layout=st.sampled_from(SOURCE_LAYOUTS), zone=st.sampled_from(ZONES),
       start=st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2060, 1, 1)),
       steps=st.lists(st.integers(1, 40 * 86400_000), min_size=5, max_size=40))
def test_a_source_with_unpadded_fields_is_read_right_or_flagged(
        layout: str, zone: str, start: dt.datetime, steps: list[int]) -> None:
    if "JST" in layout:
        zone = "Asia/Tokyo"
    tz = pytz.timezone(zone)
    first, _ = oracle(start, zone)
    instants = [first]
    for step in steps:
        instants.append(instants[-1] + step * 1000)
    if "%3" not in layout:
        instants = [t - t % 1_000_000 for t in instants]
    instants = [t - t % 1_000 for t in instants]
    normalizer = Normalizer(zone)
    read = instants[-1] + 3600 * 1_000_000
    uncertain = {"layout_unsettled", "dst_ambiguous", "dst_nonexistent", "zone_ambiguous"}
    for expected in instants:
        line = write(layout, dt.datetime.fromtimestamp(expected / 1e6, tz))
        event = normalizer.normalize(line, read)
        assert event.ts == expected or uncertain & set(event.flags), (
            layout, line, to_rfc3339(event.ts, "UTC"), to_rfc3339(expected, "UTC"), event.flags)
