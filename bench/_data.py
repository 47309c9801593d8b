"""Synthetic log lines and batches shared by the store benchmarks (no chronolog internals)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from chronolog.wire import Batch, Chunk, ClockView

LINE_BYTES = 256
DAY_US = 86_400_000_000
T0 = 1_795_000_000_000_000  # 2026-11-18T07:06:40Z

_WORDS = ("GET", "POST", "/login", "/api/v1/reserve", "/static/app.js", "200", "302", "404", "500",
          "user=", "session=", "took=", "ms", "upstream", "cache=hit", "cache=miss", "sshd[812]:",
          "Accepted", "publickey", "for", "admin", "from", "port", "kernel:", "IN=eth0", "OUT=",
          "SRC=", "DST=", "PROTO=TCP", "SPT=", "DPT=443", "level=info", "level=warn", "msg=")


def make_line(rng: random.Random, host: str, seq: int) -> str:
    """A 256-byte line shaped like nginx/sshd/iptables/app logs, with random ids and addresses."""
    ip = f"{rng.randrange(1, 255)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
    head = f"{host} {ip} req={rng.getrandbits(64):016x} seq={seq} "
    words = []
    size = len(head)
    while size < LINE_BYTES:
        w = rng.choice(_WORDS) + (str(rng.randrange(100000)) if rng.random() < 0.3 else "")
        words.append(w)
        size += len(w) + 1
    return (head + " ".join(words))[:LINE_BYTES]


def make_batches(total_lines: int, lines_per_batch: int, hosts: int = 8, span_us: int = DAY_US,
                 seed: int = 1) -> list[Batch]:
    """Batches from ``hosts`` agents (one stream each) whose lines cover ``span_us`` evenly."""
    return list(iter_batches(total_lines, lines_per_batch, hosts, span_us, seed))


def iter_batches(total_lines: int, lines_per_batch: int, hosts: int = 8, span_us: int = DAY_US,
                 seed: int = 1) -> Iterator[Batch]:
    """`make_batches`, one at a time (for data sets larger than memory)."""
    rng = random.Random(seed)
    step = max(1, span_us // total_lines)
    seqs = [0] * hosts
    produced = made = 0
    while produced < total_lines:
        h = made % hosts
        n = min(lines_per_batch, total_lines - produced)
        host = f"web-{h}"
        start = seqs[h]
        ts0 = T0 + produced * step
        chunk = Chunk(f"file:/var/log/app-{h}.log", start, ts0, ClockView(offset=0.0004, bound=0.003),
                      [make_line(rng, host, start + i) for i in range(n)],
                      [ts0 + i * step for i in range(n)], ["explicit"] * n, [None] * n)
        yield Batch(f"agent-{h}", host, "Asia/Tokyo", ts0, [chunk])
        seqs[h] += n
        produced += n
        made += 1


def iter_day(total_lines: int, hosts: int = 50, chunk_lines: int = 100, span_us: int = DAY_US,
             seed: int = 1) -> Iterator[Batch]:
    """A day of lines from ``hosts`` agents, interleaved in time as real hosts write: line ``g``
    of the day is host ``g % hosts``'s, at ``T0 + g * step``. One batch per host per round,
    each a chunk of ``chunk_lines`` consecutive lines of that host."""
    rng = random.Random(seed)
    step = max(1, span_us // total_lines)
    per_host = -(-total_lines // hosts)
    clock = ClockView(offset=0.0004, bound=0.003, synced=True, status="ok", source="audit")
    for start in range(0, per_host, chunk_lines):
        for h in range(hosts):
            end = min(start + chunk_lines, per_host)
            seqs = [s for s in range(start, end) if s * hosts + h < total_lines]
            if not seqs:
                continue
            host = f"web-{h}"
            ts = [T0 + (s * hosts + h) * step for s in seqs]
            chunk = Chunk(f"file:/var/log/app-{h}.log", seqs[0], ts[-1], clock,
                          [make_line(rng, host, s) for s in seqs], ts, ["explicit"] * len(seqs),
                          [None] * len(seqs))
            yield Batch(f"agent-{h}", host, "Asia/Tokyo", ts[-1], [chunk])
