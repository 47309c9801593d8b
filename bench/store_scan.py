"""Reading the store back: a full-day substring scan next to ``zstd -dc | grep -F`` on the same
lines, and one-minute windows out of the day.

    .venv/bin/python bench/store_scan.py [--lines 10000000] [--hosts 50] [--runs 5] [--store DIR]

A day of 256-byte lines from ``--hosts`` hosts, interleaved in time as real hosts write, is
ingested into a real store (fsync off: setup only) and sealed into segments; the same lines,
in the same order, go to one plain text file compressed with ``zstd -3`` (the peer). With
``--store DIR`` the store and the peer file are built there once and reused by later runs
(rebuilt when the line count, host count or the store's format changes).

Then, per run, alternating chronolog and the peer:

- **full-day substring scan**: lines containing ``req=000`` (about 1 in 4096) over the whole
  day, through the query engine as the API runs it (decrypt, decompress, search, order, each
  row rendered as its NDJSON record), against ``zstd -dc day.zst | grep -F req=000``; both
  must find the same lines;
- **one-minute window, one host**: every line of one host in one minute in the middle of
  the day, rendered;
- **one-minute window, every host**: the same minute, all hosts (for reference).

Medians and ratios, then each run. The machine is shared: compare within a run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import orjson
from _data import DAY_US, LINE_BYTES, T0, iter_day

from chronolog.timefmt import now_us
from collector.config import QueryConfig
from collector.query.engine import Run
from collector.query.render import Renderer
from collector.query.spec import Page, QuerySpec, TextFilter
from collector.store.keys import FileMasterKeys
from collector.store.local import LocalStore, StoreConfig

NEEDLE = "req=000"
MINUTE_US = 60_000_000
TENANT = "bench"
ZONE = "Asia/Tokyo"


def store_format() -> str:
    """What a built store depends on: rebuild when the segment block format changes."""
    from collector.store import segment

    return str(getattr(segment, "BLOCK_FORMAT", 1))


async def build(root: Path, lines: int, hosts: int) -> None:
    master = FileMasterKeys.create(root / "master.key")
    store = LocalStore(root / "data", master, StoreConfig(fsync=False)).open()
    maintenance = asyncio.create_task(store.maintain(tick=0.5))
    plain = root / "day.log"
    with plain.open("w") as f:
        for batch in iter_day(lines, hosts):
            await store.append(TENANT, batch, 1)
            for c in batch.chunks:
                f.write("\n".join(c.msg) + "\n")
    maintenance.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await maintenance
    await store.seal(TENANT)
    store.close()
    subprocess.run(["zstd", "-3", "-q", "-T1", "--rm", "-f", str(plain), "-o", str(root / "day.zst")],
                   check=True)


def prepare(root: Path, lines: int, hosts: int) -> float:
    """Build the data set at ``root`` unless one with the same parameters is there."""
    want = {"lines": lines, "hosts": hosts, "format": store_format()}
    marker = root / "built.json"
    with contextlib.suppress(OSError, ValueError):
        if json.loads(marker.read_text()) == want:
            return 0.0
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    t0 = time.perf_counter()
    asyncio.run(build(root, lines, hosts))
    marker.write_text(json.dumps(want))
    return time.perf_counter() - t0


def chronolog_query(store: LocalStore, since: int, until: int, hosts: frozenset[str],
                    grep: str | None) -> tuple[float, int, int]:
    """Seconds, rows and NDJSON bytes for one query, run and rendered as the API does (with
    the default skew margin and no time budget to stop it)."""
    t0 = time.perf_counter()
    text = TextFilter(grep=(grep,)) if grep else TextFilter()
    spec = QuerySpec(since, until, hosts=hosts, text=text, limit=10_000_000, zone=ZONE)
    renderer = Renderer(ZONE)
    with store.reader(TENANT) as reader:
        run = Run(reader, Page(spec, None, 3600.0), now_us(), QueryConfig().skew_margin)
        body = b"\n".join(orjson.dumps(renderer.record(row)) for row in run)
    return time.perf_counter() - t0, run.summary.hits, len(body)


def peer_grep(zst: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    out = subprocess.run(f"zstd -dc {zst} | grep -F {NEEDLE}", shell=True, capture_output=True)
    return time.perf_counter() - t0, out.stdout.count(b"\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--store", type=Path, default=None,
                        help="build the data set here once and reuse it (default: a temporary directory)")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    temporary = args.store is None
    root = Path(tempfile.mkdtemp(prefix="bench-scan-")) if temporary else args.store
    try:
        built = prepare(root, args.lines, args.hosts)
        store = LocalStore(root / "data", FileMasterKeys.load(root / "master.key"),
                           StoreConfig(fsync=False)).open()
        zst = root / "day.zst"
        gc.freeze()  # as the collector does once started (collector/app.py)
        raw = args.lines * (LINE_BYTES + 1)
        segments = sum(p.stat().st_size for p in (root / "data").rglob("seg-*.cls"))
        print(f"# {args.lines} lines of {LINE_BYTES} bytes over one day from {args.hosts} hosts, "
              f"{raw / 1e6:.0f} MB raw; store {segments / 1e6:.0f} MB in segments, peer "
              f"{zst.stat().st_size / 1e6:.0f} MB (zstd -3)"
              + (f"; built in {built:.0f} s" if built else "; reused"), flush=True)
        day = (T0, T0 + DAY_US)
        minute = (T0 + DAY_US // 2, T0 + DAY_US // 2 + MINUTE_US)
        one = frozenset({"web-7"})
        scans, peers, windows, wides = [], [], [], []
        for i in range(args.runs):
            ptook, theirs = peer_grep(zst)
            took, ours, _ = chronolog_query(store, *day, frozenset(), NEEDLE)
            assert ours == theirs, f"chronolog found {ours} lines, grep {theirs}"
            wtook, rows, _ = chronolog_query(store, *minute, one, None)
            atook, arows, _ = chronolog_query(store, *minute, frozenset(), None)
            scans.append(took)
            peers.append(ptook)
            windows.append(wtook)
            wides.append(atook)
            print(f"run {i + 1}: scan {took:.2f} s ({ours} lines, {raw / took / 1e6:.0f} MB/s raw); "
                  f"zstd -dc | grep -F {ptook:.2f} s ({theirs} lines), ratio {took / ptook:.2f}x; "
                  f"window one host {wtook * 1000:.1f} ms ({rows} lines); "
                  f"every host {atook * 1000:.1f} ms ({arows} lines)", flush=True)
        scan, peer, window, wide = (statistics.median(x) for x in (scans, peers, windows, wides))
        ratios = sorted(s / p for s, p in zip(scans, peers, strict=True))
        print("\n# medians")
        print(f"full-day substring scan: chronolog {scan:.2f} s ({raw / scan / 1e6:.0f} MB/s of raw lines), "
              f"zstd -dc | grep -F {peer:.2f} s; ratio of medians {scan / peer:.2f}x, median of per-run "
              f"ratios {statistics.median(ratios):.2f}x (target: at most 1.0x)")
        print(f"one-minute window, one host: {window * 1000:.1f} ms (target: under 50 ms); "
              f"every host: {wide * 1000:.1f} ms")
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        store.close()
    finally:
        if temporary:
            shutil.rmtree(root)


if __name__ == "__main__":
    main()
