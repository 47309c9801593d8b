"""The real-log corpus (corpus/: lines written by real programs, captured by corpus/capture.py,
and the layouts of public log collections): at least 99% of each set's lines get the right
instant, and every other line is flagged, never silently wrong.

The expected instants come from a second parser, independent of the engine: each set's
``oracle`` (a regular expression and a ``strptime`` layout, or an epoch count) read with the
standard library and `zoneinfo`; or, for a program that walks its own clock (the Java
``SimpleDateFormat`` sets), the instant it formatted each line from, printed beside it. For a
program run under faketime (or on the real clock, as recorded), every expected instant must
also lie within the program's own clock window.

    .venv/bin/python tests/chronolog/timestamps/test_corpus.py   # the score of every set
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

import pytest

from chronolog.timestamps import Normalizer

CORPUS = Path(__file__).resolve().parent / "corpus"
SETS = sorted(p.stem for p in CORPUS.glob("*.json"))
UNCERTAIN = {"layout_unsettled", "zone_ambiguous", "dst_ambiguous", "dst_nonexistent"}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _us(aware: dt.datetime) -> int:
    delta = aware - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def expected_instant(line: str, oracle: dict[str, str], zone: str) -> int | None:
    """The second parser: the line's instant (µs), or None when it has no timestamp."""
    m = re.search(oracle["regex"], line)
    if m is None:
        return None
    groups = list(m.groups())
    # "millis": the last group is a count of milliseconds (Java's S: ":14" is 14 ms)
    millis = int(groups.pop()) * 1000 if oracle.get("millis") else 0
    text = " ".join(groups)
    if oracle.get("epoch"):
        seconds, _, fraction = text.partition(".")
        return int(seconds) * 1_000_000 + int((fraction + "000000")[:6])
    layout = oracle["layout"]
    if "year" in oracle and "%Y" not in layout and "%y" not in layout:
        text, layout = f"{oracle['year']} {text}", f"%Y {layout}"
    if "date" in oracle:
        text, layout = f"{oracle['date']} {text}", f"%Y-%m-%d {layout}"
    parsed = dt.datetime.strptime(text, layout)
    if parsed.tzinfo is None:
        # %Z is only ever GMT here (strptime leaves it naive); else the writer's zone, whose
        # fold=0 is the earlier instant of an overlap, as the engine's rule.
        tz = dt.UTC if "%Z" in layout else zoneinfo.ZoneInfo(oracle.get("zone", zone))
        parsed = parsed.replace(tzinfo=tz)
    return _us(parsed) + millis


@dataclass
class Score:
    name: str
    lines: int
    timed: int  # lines with an expected instant
    right: int
    flagged_wrong: int
    silent_wrong: list[str]

    @property
    def share(self) -> float:
        return self.right / self.timed if self.timed else 1.0


def score(name: str) -> Score:
    meta = json.loads((CORPUS / f"{name}.json").read_text())
    lines = (CORPUS / f"{name}.log").read_text().splitlines()
    zone = meta["zone"]
    if "read_time" in meta:
        read_us = _us(dt.datetime.fromisoformat(meta["read_time"].replace("Z", "+00:00")))
    else:
        start = dt.datetime.fromisoformat(meta["start"]).replace(tzinfo=zoneinfo.ZoneInfo(zone))
        read_us = _us(start) + meta["seconds"] * 1_000_000
    normalizer = Normalizer(meta.get("source_zone", zone))
    result = Score(name, len(lines), 0, 0, 0, [])
    # Or the writer's own instant of each line, which it printed beside the line.
    instants = meta["oracle"].get("instants") or [None] * len(lines)
    for line, instant in zip(lines, instants, strict=True):
        expected = instant if instant is not None else expected_instant(line, meta["oracle"], zone)
        event = normalizer.normalize(line, read_us)
        flagged = event.source == "read_time" or bool(UNCERTAIN & set(event.flags))
        if expected is None:
            if event.source != "read_time" and not flagged:
                result.silent_wrong.append(f"{line!r}: a time where the oracle sees none")
            continue
        result.timed += 1
        if event.ts == expected:
            result.right += 1
        elif flagged:
            result.flagged_wrong += 1
        else:
            result.silent_wrong.append(f"{line!r}: {event} expected {expected}")
    return result


@pytest.mark.parametrize("name", SETS)
def test_each_set_is_read_right_or_flagged(name: str) -> None:
    result = score(name)
    assert result.timed >= 10, "a set needs lines with timestamps"
    assert not result.silent_wrong, result.silent_wrong[:5]
    assert result.share >= 0.99, f"{result.right}/{result.timed} right"


RUN_SETS = [s for s in SETS if "start" in json.loads((CORPUS / f"{s}.json").read_text())]


@pytest.mark.parametrize("name", RUN_SETS)
def test_the_second_parser_agrees_with_the_programs_own_clock(name: str) -> None:
    meta = json.loads((CORPUS / f"{name}.json").read_text())
    zone = zoneinfo.ZoneInfo(meta["zone"])
    start = _us(dt.datetime.fromisoformat(meta["start"]).replace(tzinfo=zone))
    end = start + meta["seconds"] * 1_000_000
    real = _us(dt.datetime.fromisoformat(meta["captured"].replace("Z", "+00:00")))
    instants = [expected_instant(x, meta["oracle"], meta["zone"])
                for x in (CORPUS / f"{name}.log").read_text().splitlines()]
    timed = [t for t in instants if t is not None]
    # A few writes escape faketime and carry the real clock (PostgreSQL's "ready to accept
    # connections" from its postmaster): within the real run, they are the program's too.
    outside = [t for t in timed if not start - 1_000_000 <= t <= end
               and not real - 1_000_000 <= t <= real + meta["seconds"] * 1_000_000]
    assert timed and not outside and len(outside) <= len(timed) // 10, (name, outside)


def test_the_corpus_has_the_programs_and_layouts_it_promises() -> None:
    programs = {s.split("_")[0] for s in SETS if not s.startswith("layout_")}
    assert {"nginx", "apache2", "redis", "postgresql", "mariadb", "java", "node", "go", "haproxy", "squid",
            "exim4"} <= programs
    assert len([s for s in SETS if s.startswith("layout_")]) >= 25


if __name__ == "__main__":
    for name in SETS:
        r = score(name)
        print(f"{name:24} {r.right:4}/{r.timed:<4} right {100 * r.share:6.1f}%  flagged {r.flagged_wrong:3}  "
              f"silently wrong {len(r.silent_wrong)}")
