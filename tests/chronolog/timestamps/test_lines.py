"""Many lines at once: `read_lines` answers exactly what `Normalizer.normalize` answers line by
line, whatever follows a timestamp, and reuses a reading only where that is exact."""

from __future__ import annotations

import json
from pathlib import Path
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chronolog.timefmt import parse_rfc3339
from chronolog.timestamps import Normalizer
from chronolog.timestamps.formats import DETECTED, Format
from chronolog.timestamps.lines import Readings, read_lines, read_text

READ = parse_rfc3339("2026-11-27T12:00:00+09:00")
Answer = tuple[int, str, str | None, tuple[str, ...]]


def expand(readings: Readings, lines: list[str]) -> list[Answer]:
    """The readings line by line, as `Normalizer.normalize` gives them."""
    kinds = dict(readings.kinds)
    flags = dict(readings.flags)
    texts = dict(readings.raw_texts)
    out: list[Answer] = []
    kind = None
    for i, line in enumerate(lines):
        kind = kinds.get(i, kind)
        assert kind is not None
        source, start, end = kind
        raw = texts.get(i, line[start:end] if start >= 0 else None)
        out.append((readings.ts[i], source, raw, flags.get(i, ())))
    return out


def one_by_one(lines: list[str], zone: str, **options: Any) -> list[Answer]:
    normalizer = Normalizer(zone, **options)
    return [tuple(normalizer.normalize(line, READ)) for line in lines]  # type: ignore[misc]


# Timestamps of every family whose readings are reused, written for a few seconds so that lines
# share a second; each is followed by text chosen to tempt the pattern on (zones, years, digits).
SECONDS = ["2026-11-27 09:14:03", "2026-11-27 09:14:04", "2026-11-01 01:30:00", "2026-03-08 02:30:00"]
TEMPLATES = [
    "{Y}-{m}-{d}T{H}:{M}:{S}{f}", "{Y}-{m}-{d} {H}:{M}:{S}{f}", "{Y}{m}{d}T{H}{M}{S}{f}",
    "{d}/{b}/{Y}:{H}:{M}:{S}{f}", "{a} {b} {d} {H}:{M}:{S}{f}", "{d} {b} {Y} {H}:{M}:{S}{f}",
    "{b} {d} {H}:{M}:{S}{f}", "{Y}/{m}/{d} {H}:{M}:{S}{f}", "{y}/{m}/{d} {H}:{M}:{S}{f}",
    "{m}-{d} {H}:{M}:{S}{f}", "{Y}-{m}-{d}-{H}.{M}.{S}{f}", "{Y}{m}{d}{H}{M}{S}", "{y}{m}{d} {H}{M}{S}",
    "[{Y}-{m}-{d}T{H}:{M}:{S}{f}", "  {y}/{m}/{d} {H}:{M}:{S}{f}", "{H}:{M}:{S}{f}",
]
AFTER = ["", " ", "Z", "z", "+09:00", "+0900", "+09", "-05:00", " +0900", " -0500", " UTC", " GMT",
         " UTC+09:00", " GMT+0900", " JST", " IST", " EST", " CEST", " INFO", " 2026", " 2026 x", " 1",
         "0", "1", "5", ".", ".x", ",", ":", "-", " web-1", " web-1 sshd[12]: x", "\t", " [main]"]


@st.composite
def stamped_line(draw: st.DrawFn, template: str, second: str) -> str:
    y, mo, d = second[:10].split("-")
    h, mi, s = second[11:].split(":")
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    digits = draw(st.sampled_from([0, 3, 3, 6, 9]))
    fraction = "" if digits == 0 else draw(st.sampled_from(".,")) + "".join(
        draw(st.lists(st.sampled_from("0123456789"), min_size=digits, max_size=digits)))
    stamp = template.format(Y=y, y=y[2:], m=mo, d=d, H=h, M=mi, S=s, f=fraction, b=months[int(mo) - 1],
                            a="Fri")
    after = draw(st.lists(st.sampled_from(AFTER), max_size=3))
    return stamp + "".join(after) + draw(st.sampled_from(["", " message", " x=1 y=2"]))


@st.composite
def source_lines(draw: st.DrawFn) -> list[str]:
    template = draw(st.sampled_from(TEMPLATES))
    lines = []
    for _ in range(draw(st.integers(1, 30))):
        choice = draw(st.integers(0, 9))
        if choice == 0:
            lines.append(draw(st.sampled_from(["", "  at A.b(A.java:1)", "no time here", "12:00 x"])))
        elif choice == 1:
            lines.append(draw(stamped_line(draw(st.sampled_from(TEMPLATES)), draw(st.sampled_from(SECONDS)))))
        else:
            lines.append(draw(stamped_line(template, draw(st.sampled_from(SECONDS[:1] * 3 + SECONDS[1:2])))))
    return lines


@settings(max_examples=400, deadline=None)
@given(source_lines(), st.sampled_from(["Asia/Tokyo", "America/New_York", "UTC"]), st.integers(0, 30))
def test_read_lines_answers_what_normalize_answers_line_by_line(lines: list[str], zone: str,
                                                                cut: int) -> None:
    normalizer = Normalizer(zone)
    first = read_lines(normalizer, lines[:cut], READ)
    second = read_lines(normalizer, lines[cut:], READ)
    assert expand(first, lines[:cut]) + expand(second, lines[cut:]) == one_by_one(lines, zone)


@settings(max_examples=100, deadline=None)
@given(source_lines())
def test_a_declared_format_and_a_short_tolerance_are_kept(lines: list[str]) -> None:
    options = {"format": "%Y-%m-%d %H:%M:%S", "future_tolerance": 3600.0}
    got = expand(read_lines(Normalizer("Asia/Tokyo", **options), lines, READ), lines)  # type: ignore[arg-type]
    assert got == one_by_one(lines, "Asia/Tokyo", **options)


def test_lines_of_one_second_are_read_once_and_the_answer_is_in_runs() -> None:
    lines = [f"2026-11-27T09:14:03.{i:03d}+09:00 web-1 app: request {i}" for i in range(200)]
    normalizer = Normalizer("Asia/Tokyo")
    readings = read_lines(normalizer, lines, READ)
    assert list(readings.ts) == [parse_rfc3339("2026-11-27T09:14:03+09:00") + i * 1000 for i in range(200)]
    assert readings.kinds == [(0, ("explicit", 0, 29))]
    assert readings.sources() == {"explicit": 200}
    assert normalizer.resolver.last_us == readings.ts[-1]


def test_a_time_of_day_takes_its_date_from_the_line_before_across_calls() -> None:
    normalizer = Normalizer("Asia/Tokyo")
    read_lines(normalizer, ["2026-11-26 23:59:59 start"], READ)
    readings = read_lines(normalizer, ["23:59:59 a", "00:00:01 b"], READ)
    assert expand(readings, ["23:59:59 a", "00:00:01 b"]) == \
        one_by_one(["2026-11-26 23:59:59 start", "23:59:59 a", "00:00:01 b"], "Asia/Tokyo")[1:]


def test_text_with_another_separator_is_read_as_its_lines() -> None:
    lines = ["2026-11-27 09:14:03,001 ERROR boom\n  at A.b(A.java:1)", "2026-11-27 09:14:03,002 INFO ok"]
    normalizer = Normalizer("Asia/Tokyo")
    assert expand(read_lines(normalizer, lines, READ), lines) == one_by_one(lines, "Asia/Tokyo")
    assert expand(read_text(Normalizer("Asia/Tokyo"), "\x00".join(lines), READ, "\x00"), lines) == \
        one_by_one(lines, "Asia/Tokyo")


@pytest.mark.parametrize("first, then", [
    ("2026-11-27 09:14:03.118 INFO a", "2026-11-27 09:14:03.119 JST b"),  # a zone after the time
    ("2026-11-27 09:14:03.118 INFO a", "2026-11-27 09:14:03.119 UTC+09:00 b"),
    ("2026-11-27T09:14:03.118+09 a", "2026-11-27T09:14:03.119+09:30 b"),  # a longer offset
    ("2026-11-27 09:14:03.118 a", "2026-11-27 09:14:03.1190 b"),  # another fraction length
    ("Nov 27 09:14:03 host a", "Nov 27 09:14:03 2026 host b"),  # a year after a yearless time
    ("27/Nov/2026:09:14:03 x] a", "27/Nov/2026:09:14:03 +0100] b"),
    ("Fri Nov 27 09:14:03 2026 a", "Fri Nov 27 09:14:03 JST 2026 b"),
    ("Nov 27 09:14:03 +0900 2026 a", "Nov 27 09:14:03 +0900 20261 b"),
    ("27 Nov 2026 09:14:03 a", "27 Nov 2026 09:14:03 EST b"),
    ("2026-11-27-09.14.03 a", "2026-11-27-09.14.03.5 b"),
    ("20261127091403 a", "20261127091403123 b"),
    ("09:14:03 a", "09:14:03 JST b"),
])
def test_text_after_a_time_that_changes_how_it_reads_is_seen(first: str, then: str) -> None:
    lines = [first, first, then, first, then]
    assert expand(read_lines(Normalizer("Asia/Tokyo"), lines, READ), lines) == one_by_one(lines, "Asia/Tokyo")


CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.mark.parametrize("name", sorted(p.stem for p in CORPUS.glob("*.json")))
def test_every_corpus_set_reads_as_line_by_line(name: str) -> None:
    # The real-log corpus (test_corpus.py scores it line by line), read as the agent reads it:
    # in blocks of 64 lines, one Normalizer per source.
    meta = json.loads((CORPUS / f"{name}.json").read_text())
    lines = (CORPUS / f"{name}.log").read_text().splitlines()
    zone = meta.get("source_zone", meta["zone"])
    normalizer = Normalizer(zone)
    got: list[Answer] = []
    for start in range(0, len(lines), 64):
        got += expand(read_lines(normalizer, lines[start:start + 64], READ), lines[start:start + 64])
    assert got == one_by_one(lines, zone)


# -- the formats' declarations ---------------------------------------------------------------

_UNBOUNDED = 1 << 30


def _width(items: Any) -> tuple[int, int]:
    """(greatest width, farthest character read) of a sequence of regular-expression items."""
    width = reach = 0
    for op, av in items:
        w, r = _item(op, av)
        reach = max(reach, width + r)
        width = min(width + w, _UNBOUNDED)
    return width, max(reach, width)


def _item(op: Any, av: Any) -> tuple[int, int]:
    if op in (sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN):
        return 1, 1
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        _, high, sub = av
        w, r = _width(sub)
        if high == sre.MAXREPEAT or not high:
            return (_UNBOUNDED, _UNBOUNDED) if high else (0, 0)
        return w * high, w * (high - 1) + r
    if op == sre.SUBPATTERN:
        return _width(av[-1])
    if op == sre.BRANCH:
        widths = [_width(b) for b in av[1]]
        return max(w for w, _ in widths), max(r for _, r in widths)
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return 0, _width(av[1])[1] if av[0] == 1 else 0
    if op == sre.AT:
        return 0, 1
    return _UNBOUNDED, _UNBOUNDED


def _children(op: Any, av: Any) -> list[Any]:
    if op == sre.SUBPATTERN:
        return [av[-1]]
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        return [av[2]]
    if op == sre.BRANCH:
        return list(av[1])
    return []


def _after(items: Any, group: int) -> tuple[int, int] | None:
    """(width, reach) of what the pattern matches after ``group`` closes (0: the whole pattern)."""
    items = list(items)
    for i, (op, av) in enumerate(items):
        rest = _width(items[i + 1:])
        if op == sre.SUBPATTERN and av[0] == group:
            return rest
        for child in _children(op, av):
            inner = _after(child, group)
            if inner is not None:
                return min(inner[0] + rest[0], _UNBOUNDED), max(inner[1], inner[0] + rest[1])
    return None


def reach_after_fraction(fmt: Format) -> int:
    """How far past the fraction (past the match, without one) the pattern may read."""
    tree = list(sre_parse.parse(fmt.pattern.pattern, fmt.pattern.flags))
    if fmt.fraction:
        found = _after(tree, fmt.fraction)
        assert found is not None
        return found[1]
    consuming = [i for i, (op, _) in enumerate(tree) if op not in (sre.ASSERT, sre.ASSERT_NOT, sre.AT)]
    return _width(tree[consuming[-1] + 1:])[1]


SAMPLES = {
    "iso8601": "2026-11-27T09:14:03.118+09:00", "clf": "27/Nov/2026:09:14:03.118 +0900",
    "ctime": "Fri Nov 27 09:14:03.118 JST 2026", "rfc2822": "27 Nov 2026 09:14:03.118 +0900",
    "rfc3164": "Nov 27 09:14:03.118", "slash": "2026/11/27 09:14:03.118",
    "slash_short_year": "26/11/27 09:14:03.118", "logcat": "11-27 09:14:03.118",
    "iso8601_basic": "20261127T091403.118Z", "compact": "20261127091403118", "db2": "2026-11-27-09.14.03.118",
    "hdfs": "261127 091403",
}


@pytest.mark.parametrize("fmt", [f for f in DETECTED if f.tail], ids=lambda f: f.name)
def test_a_formats_tail_covers_what_its_pattern_reads_after_the_fraction(fmt: Format) -> None:
    assert fmt.tail >= reach_after_fraction(fmt)
    m = fmt.pattern.search(SAMPLES[fmt.name])
    assert m is not None
    if fmt.fraction:
        # The fraction's group comes right after the seconds' (where it would be, when absent).
        assert (m.group(fmt.fraction - 1), m.group(fmt.fraction)) == ("03", "118")
        assert m.start(fmt.fraction) - m.end(fmt.fraction - 1) in (0, 1)


def test_formats_whose_reader_looks_beyond_its_match_declare_no_tail() -> None:
    assert {f.name for f in DETECTED if not f.tail} == {"json", "epoch", "epoch_field"}
