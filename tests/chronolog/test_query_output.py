"""How ``chronolog query`` prints records: marks, context groups, CSV, error bounds."""

from __future__ import annotations

import csv
import io
from typing import Any

from chronolog.cli.output import Printer, marks, seconds


def record(seq: int, msg: str, kind: str = "hit", host: str = "web-1", **more: Any) -> dict[str, Any]:
    return {"kind": kind, "ts": f"2026-11-27T09:00:0{seq}.000000+09:00", "host": host, "stream": "file:/a",
            "seq": seq, "agent": "a1", "ts_source": "explicit", "flags": [], "msg": msg,
            "clock": {"status": "ok"}, "corrected": None, "error_bound": None, **more}


def printed(fmt: str, records: list[dict[str, Any]], **options: bool) -> str:
    out = io.StringIO()
    p = Printer(out, fmt, **options)
    for r in records:
        p.record(r)
    return out.getvalue()


def test_plain_lines_mark_a_time_not_from_the_line_and_a_clock_not_to_be_trusted() -> None:
    rows = [record(1, "ok"), record(2, "no stamp", ts_source="read_time"),
            record(3, "skewed", flags=["corrected_in_window", "future", "clock_over_budget"])]
    assert printed("plain", rows).splitlines() == [
        "2026-11-27T09:00:01.000000+09:00 web-1 file:/a: ok",
        "2026-11-27T09:00:02.000000+09:00 web-1 file:/a: [read_time] no stamp",
        "2026-11-27T09:00:03.000000+09:00 web-1 file:/a: "
        "[future clock_over_budget corrected_in_window] skewed",
    ]
    assert marks(rows[1]) == ["read_time"]


def test_context_lines_are_told_from_hits_and_separated_as_grep_does() -> None:
    rows = [record(1, "a", "before"), record(2, "hit"), record(3, "b", "after"),
            record(7, "c", "before"), record(8, "hit 2"), record(5, "other", host="db-1")]
    assert printed("plain", rows, context=True).splitlines() == [
        "2026-11-27T09:00:01.000000+09:00 web-1 file:/a- a",
        "2026-11-27T09:00:02.000000+09:00 web-1 file:/a: hit",
        "2026-11-27T09:00:03.000000+09:00 web-1 file:/a- b",
        "--",
        "2026-11-27T09:00:07.000000+09:00 web-1 file:/a- c",
        "2026-11-27T09:00:08.000000+09:00 web-1 file:/a: hit 2",
        "--",
        "2026-11-27T09:00:05.000000+09:00 db-1 file:/a: other",
    ]


def test_the_table_aligns_columns_and_the_corrected_order_shows_each_error_bound() -> None:
    rows = [record(1, "x", corrected="2026-11-27T09:00:00.900000+09:00", error_bound=0.0021),
            record(2, "y", host="db-10", corrected=None, error_bound=None, flags=["clock_unknown"])]
    lines = printed("table", rows, corrected=True).splitlines()
    assert lines == ["2026-11-27T09:00:00.900000+09:00 ±2.1ms web-1 file:/a: x",
                     "2026-11-27T09:00:02.000000+09:00 ±?     db-10 file:/a: [clock_unknown] y"]
    assert [seconds(3.04), seconds(0.00035), seconds(None)] == ["±3.0s", "±350µs", "±?"]


def test_csv_has_a_header_and_one_row_per_record_with_the_message_quoted() -> None:
    rows = list(csv.reader(io.StringIO(printed("csv", [record(1, 'say "hi", then, go\nnext'),
                                                       record(2, "b", flags=["future"])]))))
    assert rows[0][:3] == ["ts", "host", "stream"] and rows[0][-2:] == ["flags", "msg"]
    assert rows[1][-1] == 'say "hi", then, go\nnext' and rows[2][-2] == "future" and len(rows) == 3
