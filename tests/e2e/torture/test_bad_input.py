"""Lines no one should write, which the agent must still count and deliver: a 10 MB line,
invalid UTF-8 and binary."""

from __future__ import annotations

import random

from support.fleet import Fleet
from support.torture import assert_exactly_once, ids


def test_a_10_mb_line_is_cut_flagged_counted_and_the_next_lines_still_arrive(fleet: Fleet) -> None:
    web = fleet.agent("web-1")
    with web.log.open("ab") as f:
        f.write(b"big id=00000000 " + b"y" * (10 << 20) + b"\n")
        f.write(b"".join(f"big id={i:08d} after\n".encode() for i in range(1, 101)))
    fleet.wait_for_lines(101)
    records = fleet.records()
    [huge] = [r for r in records if len(r["msg"]) > 1000]
    assert len(huge["msg"].encode()) == 1 << 20 and huge["line_flags"] == ["truncated"]
    assert_exactly_once(ids((r["msg"] for r in records), "big"), set(range(101)))
    assert web.ledger(f"file:{web.log}")["truncated"] == 1


def test_invalid_utf8_and_binary_lines_arrive_escaped_and_flagged(fleet: Fleet) -> None:
    web = fleet.agent("web-1")
    rng = random.Random(5)
    lines = []
    for i in range(2000):
        junk = bytes(b for b in rng.randbytes(40) if b != 0x0A)  # any byte but a newline
        lines.append(f"bin id={i:08d} ".encode() + junk + (b"\xff\xfe\x00\xc3" if i % 2 else b""))
    with web.log.open("ab") as f:
        f.write(b"".join(x + b"\n" for x in lines))
    fleet.wait_for_lines(2000)
    records = fleet.records()
    assert_exactly_once(ids((r["msg"] for r in records), "bin"), set(range(2000)))
    odd = [r for r in records if int(r["msg"][7:15]) % 2]
    assert len(odd) == 1000  # the lines ending with bytes that are never valid UTF-8:
    assert all(r["msg"].endswith("\\xff\\xfe\x00\\xc3") for r in odd)  # kept, escaped
    assert all("invalid_encoding" in r["line_flags"] for r in odd)  # and flagged
    assert web.daemon.running
