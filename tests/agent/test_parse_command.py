"""``chronolog-agent parse``, run as the real command."""

from __future__ import annotations

import json
import subprocess

import pytest
from support.processes import BIN

READ = "2027-01-01T00:00:05+09:00"


def parse(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([BIN / "chronolog-agent", "parse", *args], input=stdin, capture_output=True,
                          timeout=60, check=False)


def test_each_line_becomes_one_json_record_with_its_event_time_explained() -> None:
    lines = (b"Dec 31 23:59:59 web-1 sshd[1]: last line of the year\n"
             b"2026-11-01 01:30:00,000 INFO fall back in New York\r\n"
             b"\xff\xfe binary \x00 and no time\n"
             b"2026-11-27T00:14:03.118Z explicit\n")
    # Read at 01:00:05 on 1 January in New York: "Dec 31 23:59:59" there is the year before.
    read = "2027-01-01T06:00:05Z"
    done = parse("--zone", "Asia/Tokyo", "--source-zone", "America/New_York", "--read-time", read,
                 stdin=lines)
    assert done.returncode == 0, done.stderr
    records = [json.loads(x) for x in done.stdout.splitlines()]
    assert [(r["ts"], r["ts_source"], r["ts_flags"], r["ts_raw"], r["ts_format"]) for r in records] == [
        ("2027-01-01T13:59:59.000000+09:00", "inferred_year", [], "Dec 31 23:59:59", "rfc3164"),
        ("2026-11-01T14:30:00.000000+09:00", "assumed_zone", ["dst_ambiguous"], "2026-11-01 01:30:00,000",
         "iso8601"),
        ("2027-01-01T15:00:05.000000+09:00", "read_time", [], None, None),
        ("2026-11-27T09:14:03.118000+09:00", "explicit", [], "2026-11-27T00:14:03.118Z", "iso8601"),
    ]
    assert {r["read_time"] for r in records} == {"2027-01-01T15:00:05.000000+09:00"}
    assert records[2]["msg"] == "\\xff\\xfe binary \x00 and no time"
    assert records[2]["line_flags"] == ["invalid_encoding"]
    assert records[1]["msg"] == "2026-11-01 01:30:00,000 INFO fall back in New York"


def test_a_declared_format_and_the_output_zone() -> None:
    done = parse("--zone", "UTC", "--source-zone", "Asia/Tokyo", "--read-time", READ,
                 "--format", "%d.%m.%Y %H:%M", stdin=b"job 27.11.2026 09:14 ok\n")
    record = json.loads(done.stdout)
    assert (record["ts"], record["ts_format"]) == ("2026-11-27T00:14:00.000000+00:00", "declared")


def test_without_read_time_it_is_now() -> None:
    done = parse("--zone", "UTC", stdin=b"no time here\n")
    record = json.loads(done.stdout)
    assert record["ts"] == record["read_time"] and record["ts"].startswith("20")


@pytest.mark.parametrize(("args", "message"), [
    (["--zone", "Mars/Olympus"], "--zone: unknown time zone 'Mars/Olympus'"),
    (["--source-zone", "JST"], "--source-zone: unknown time zone 'JST'"),
    (["--read-time", "yesterday"], "--read-time: 'yesterday' is not an RFC 3339 time"),
    (["--read-time", "2026-11-27 09:00"], "'2026-11-27 09:00' is not an RFC 3339 time with an offset"),
    (["--format", "%Y-%m-%d %Q"], "--format: format '%Y-%m-%d %Q': unknown directive %Q"),
    (["--format", "%H:%M:%S"], "is missing a month"),
    (["--future-tolerance", "-5"], "--future-tolerance -5: expected 0 to 15552000 seconds"),
    (["--future-tolerance", "soon"], "argument --future-tolerance: invalid float value: 'soon'"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_bad_arguments_exit_2_with_one_line_naming_the_problem(args: list[str], message: str) -> None:
    done = parse(*args, stdin=b"2026-11-27T00:14:03Z x\n")
    assert done.returncode == 2
    assert done.stdout == b""
    [line] = done.stderr.decode().splitlines()
    assert line.startswith("chronolog-agent: ") and message in line


def test_a_reader_that_goes_away_ends_it_quietly() -> None:
    lines = b"2026-11-27T00:14:03Z x\n" * 200_000
    done = subprocess.run(f"'{BIN / 'chronolog-agent'}' parse --zone UTC | head -n 1", shell=True,
                          input=lines, capture_output=True, timeout=120, check=False)
    assert done.stdout.count(b"\n") == 1
    assert b"Traceback" not in done.stderr and b"Broken pipe" not in done.stderr


def test_explain_names_the_layout_why_it_won_and_the_rejected_candidates() -> None:
    # Read on 27 November, "05.11" is nearer as 5 November than as 11 May: day first is read,
    # flagged, until "13.11" settles it.
    lines = b"[05.11 16:49:06] chrome.exe - open\n[13.11 16:49:07] chrome.exe - close\n"
    done = parse("--zone", "UTC", "--source-zone", "UTC", "--read-time", "2026-11-27T12:00:00Z", "--explain",
                 stdin=lines)
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(x) for x in done.stdout.splitlines())
    assert (first["ts"], first["ts_flags"], first["ts_format"]) == (
        "2026-11-05T16:49:06.000000+00:00", ["learned", "layout_unsettled"], "learned")
    assert first["explain"]["layout"] == "%d.%m %H:%M:%S"
    assert first["explain"]["candidates"] == ["%m.%d %H:%M:%S", "%d.%m %H:%M:%S"]
    assert "disagree" in first["explain"]["why"]
    assert (second["ts"], second["ts_flags"]) == ("2026-11-13T16:49:07.000000+00:00", ["learned"])
    assert second["explain"]["layout"] == "%d.%m %H:%M:%S"
    assert "settled" in second["explain"]["why"]
    assert second["explain"]["rejected"] == [
        {"layout": "%m.%d %H:%M:%S", "why": "line 2: read no time where another layout read one"}]


def test_explain_says_a_family_was_detected_then_kept() -> None:
    done = parse("--zone", "UTC", "--read-time", READ, "--explain",
                 stdin=b"2026-11-27T00:14:03Z a\n2026-11-27T00:14:04Z b\nno time\n")
    whys = [json.loads(x)["explain"]["why"] for x in done.stdout.splitlines()]
    assert whys[0].startswith("detected: iso8601")
    assert whys[1].startswith("the source's format (iso8601), kept")
    assert whys[2].startswith("no timestamp")


def test_explain_says_when_an_unpadded_date_reads_two_ways() -> None:
    # HealthApp's yyyyMd: "2018111" is 11 January or 1 November; read long after, with no line
    # before, nothing tells which.
    done = parse("--zone", "UTC", "--source-zone", "Asia/Shanghai", "--read-time", "2019-06-01T00:00:00Z",
                 "--explain", stdin=b"2018111-1:0:0:3|Step_LSC|30002312|onStandStepChanged 3579\n")
    record = json.loads(done.stdout)
    assert set(record["ts_flags"]) == {"learned", "layout_unsettled"}
    assert record["explain"]["layout"] == "%Y%-m%-d-%H:%M:%S:%L"
    assert "reads two ways" in record["explain"]["why"]
