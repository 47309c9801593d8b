"""Timestamp normalisation speed: chronolog next to the plain stdlib on the same lines.

Each case runs in a fresh child process pinned to one core, so its CPU seconds and peak RSS
are its own; every case is repeated and the median reported. Lines are 256 bytes (with the
newline), their times one millisecond apart, so per-minute caches see real turnover.

    .venv/bin/python bench/timestamps.py                 # all cases, 5 runs of 200k lines each
    .venv/bin/python bench/timestamps.py --lines 50000 --runs 3 --cases iso_offset syslog_3164
    .venv/bin/python bench/timestamps.py --baseline /work/main   # also main's engine, alternating

Cases (the stdlib peer, then chronolog, on the very same lines):

- ``iso_offset``: ``2026-11-27T09:14:03.118+09:00 ...``; peer: ``datetime.fromisoformat`` of
  the 29 characters known to hold the time, then ``.timestamp()``.
- ``iso_local``: ``2026-11-27 09:14:03,118 INFO ...`` (no offset; source zone Asia/Tokyo);
  peer: ``fromisoformat`` then pytz ``localize(is_dst=None)``.
- ``syslog_3164``: ``Nov 27 09:14:03 web-1 sshd[4242]: ...``; peer: ``datetime.strptime``
  of the first 15 characters with the year added, then pytz ``localize``.
- ``learned``: ``20261127-09:14:03:118|Step_LSC|30002312|...`` (HealthApp's layout, which no
  family claims: the learner settles on ``%Y%m%d-%H:%M:%S:%L`` at the first line); peer:
  ``datetime.strptime`` of the first 21 characters with that layout, then pytz ``localize``.
- ``learned_unpadded``: ``20261127-9:0:3:7|Step_LSC|...``, HealthApp as Java's
  ``yyyyMd-H:m:s:S`` writes it (nothing padded; ``:7`` is 7 ms; settles on
  ``%Y%m%d-%H:%M:%S:%L``); peer: ``strptime`` of the text before the last colon with
  ``%Y%m%d-%H:%M:%S`` plus the milliseconds, then pytz ``localize``.
- ``clf``, ``json_epoch``, ``epoch_field``, ``no_timestamp``: chronolog only (no single stdlib
  call to compare).
- ``stamp_iso``, ``stamp_3164``: the agent's whole `Stamper.stamp` (decode, event time,
  sequence numbers, chunk) on 256-line reads of bytes.

The peers are handed where the timestamp is; chronolog finds it. ``lines/s`` counts lines
per CPU second of the child (user + system).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

LINE_BYTES = 256
START = dt.datetime(2026, 11, 27, 9, 0, 0)
ZONE = "Asia/Tokyo"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _pad(head: str, i: int) -> str:
    body = f"{head} GET /api/v1/items/{i} 200 "
    return body + "x" * (LINE_BYTES - 1 - len(body.encode()))


def make_lines(case: str, n: int) -> list[str]:
    lines = []
    for i in range(n):
        t = START + dt.timedelta(milliseconds=i)
        ms = t.microsecond // 1000
        if case in ("iso_offset", "stamp_iso"):
            head = t.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}+09:00 web-1 app[4242]:"
        elif case == "iso_local":
            head = t.strftime("%Y-%m-%d %H:%M:%S") + f",{ms:03d} INFO  [main] c.e.Api -"
        elif case in ("syslog_3164", "stamp_3164"):
            head = f"{MONTHS[t.month - 1]} {t.day:2d} " + t.strftime("%H:%M:%S") + " web-1 sshd[4242]:"
        elif case == "clf":
            head = "203.0.113.7 - - [" + t.strftime("%d/%b/%Y:%H:%M:%S") + ' +0900] "GET /" 200 -'
        elif case == "learned":
            head = t.strftime("%Y%m%d-%H:%M:%S:") + f"{ms:03d}|Step_LSC|30002312|onStandStepChanged"
        elif case == "learned_unpadded":
            head = t.strftime("%Y%-m%-d-%-H:%-M:%-S:") + f"{ms}|Step_LSC|30002312|onStandStepChanged"
        elif case == "epoch_field":
            stamp = int((t - dt.datetime(1970, 1, 1)).total_seconds()) - 9 * 3600
            head = f"{134681 + i} node-246 unix.hw state_change.unavailable {stamp} 1 Component State Change"
        elif case == "json_epoch":
            stamp = (t - dt.datetime(1970, 1, 1)).total_seconds() - 9 * 3600
            head = f'{{"level":"info","ts":{stamp:.3f},"msg":"request"}}'
        elif case == "no_timestamp":
            head = f"\tat com.example.Handler.handle(Handler.java:{i % 500})"
        else:
            raise SystemExit(f"unknown case {case!r}")
        lines.append(_pad(head, i))
    return lines


def chronolog_runner(case: str, lines: list[str]) -> Callable[[], None]:
    from chronolog.timestamps import Normalizer

    read_us = time.time_ns() // 1000

    def run() -> None:
        normalize = Normalizer(ZONE).normalize
        for line in lines:
            normalize(line, read_us)

    return run


def stamp_runner(case: str, lines: list[str]) -> Callable[[], None]:
    from agent.stamp import Stamper
    from chronolog.wire import ClockView

    raw = [line.encode() for line in lines]
    reads = [raw[i:i + 256] for i in range(0, len(raw), 256)]
    read_us = time.time_ns() // 1000

    def run() -> None:
        stamper = Stamper("file:/var/log/bench.log", ZONE, "utf-8", 0)
        for chunk in reads:
            stamper.stamp(chunk, read_us, ClockView())

    return run


def stdlib_runner(case: str, lines: list[str]) -> Callable[[], None]:
    import pytz

    tz = pytz.timezone(ZONE)
    fromisoformat, strptime = dt.datetime.fromisoformat, dt.datetime.strptime

    def iso_offset() -> None:
        for line in lines:
            fromisoformat(line[:29]).timestamp()

    def iso_local() -> None:
        for line in lines:
            tz.localize(fromisoformat(line[:23]), is_dst=None).timestamp()

    def syslog_3164() -> None:
        for line in lines:
            tz.localize(strptime("2026 " + line[:15], "%Y %b %d %H:%M:%S"), is_dst=None).timestamp()

    def learned() -> None:
        for line in lines:
            tz.localize(strptime(line[:21], "%Y%m%d-%H:%M:%S:%f"), is_dst=None).timestamp()

    def learned_unpadded() -> None:
        for line in lines:
            stamp = line[:line.index("|")]
            cut = stamp.rindex(":")
            wall = strptime(stamp[:cut], "%Y%m%d-%H:%M:%S")
            tz.localize(wall, is_dst=None).timestamp() + int(stamp[cut + 1:]) / 1e3

    runs = {"iso_offset": iso_offset, "iso_local": iso_local, "syslog_3164": syslog_3164, "learned": learned,
            "learned_unpadded": learned_unpadded}
    return runs[case]


def child(case: str, impl: str, n: int) -> None:
    """Measure one run in this process and print it as JSON."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    lines = make_lines(case, n)
    runners = {"chronolog": chronolog_runner, "stdlib": stdlib_runner, "stamper": stamp_runner}
    runner = runners[impl](case, lines)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, c0 = time.perf_counter(), time.process_time()
    runner()
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"case": case, "impl": impl, "lines": n, "cpu_s": cpu, "wall_s": wall,
                      "peak_rss_mb": rss_after / 1024, "rss_growth_mb": (rss_after - rss_before) / 1024}))


PLAN = {
    "iso_offset": ["stdlib", "chronolog"],
    "iso_local": ["stdlib", "chronolog"],
    "syslog_3164": ["stdlib", "chronolog"],
    "learned": ["stdlib", "chronolog"],
    "learned_unpadded": ["stdlib", "chronolog"],
    "clf": ["chronolog"],
    "epoch_field": ["chronolog"],
    "json_epoch": ["chronolog"],
    "no_timestamp": ["chronolog"],
    "stamp_iso": ["stamper"],
    "stamp_3164": ["stamper"],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lines", type=int, default=200_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--cases", nargs="*", default=list(PLAN), choices=list(PLAN))
    p.add_argument("--baseline", metavar="TREE",
                   help="also run chronolog from this source tree (e.g. main's worktree), alternating")
    p.add_argument("--child", nargs=2, metavar=("CASE", "IMPL"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.lines)
        return
    print(f"# {args.lines} lines of {LINE_BYTES} bytes per run, median of {args.runs} runs, one core, "
          f"Python {sys.version.split()[0]}" + (f", baseline {args.baseline}" if args.baseline else ""))
    print(f"{'case':16} {'impl':10} {'lines/s':>10} {'MB/s':>7} {'cpu s':>6} {'peak RSS MB':>11} "
          f"{'RSS growth MB':>13} {'vs stdlib':>9}" + (f" {'vs baseline':>11}" if args.baseline else ""))
    for case in args.cases:
        impls = PLAN[case] + (["baseline"] if args.baseline and "chronolog" in PLAN[case] else [])
        runs: dict[str, list[dict[str, float]]] = {impl: [] for impl in impls}
        for _ in range(args.runs):  # the implementations alternate, so a load change hits them alike
            for impl in impls:
                argv = [sys.executable, str(Path(__file__).resolve()), "--lines", str(args.lines),
                        "--child", case, "chronolog" if impl == "baseline" else impl]
                env = {**os.environ, "PYTHONPATH": args.baseline} if impl == "baseline" else None
                out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
                runs[impl].append(json.loads(out.stdout))
        medians = {impl: statistics.median(r["lines"] / r["cpu_s"] for r in runs[impl]) for impl in impls}
        for impl in impls:
            rate = medians[impl]
            cpu = statistics.median(r["cpu_s"] for r in runs[impl])
            rss = statistics.median(r["peak_rss_mb"] for r in runs[impl])
            growth = statistics.median(r["rss_growth_mb"] for r in runs[impl])
            ratio = f"{rate / medians['stdlib']:.2f}x" if impl != "stdlib" and "stdlib" in medians else ""
            versus = f"{rate / medians['baseline']:.3f}x" if impl == "chronolog" and args.baseline else ""
            print(f"{case:16} {impl:10} {rate:10,.0f} {rate * LINE_BYTES / 1e6:7.1f} {cpu:6.2f} {rss:11.1f} "
                  f"{growth:13.1f} {ratio:>9}" + (f" {versus:>11}" if args.baseline else ""), flush=True)


if __name__ == "__main__":
    main()
