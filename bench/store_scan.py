"""Reading the store back: a full-text scan next to ``zstd -dc | grep -F`` on the same lines,
and a one-minute window out of a day.

    .venv/bin/python bench/store_scan.py [--lines 2000000] [--runs 3] [--dir DIR]

A day of 256-byte lines from 8 hosts is ingested into a real store (fsync off: setup only)
and sealed into segments; the same lines, in the same order, go to one plain text file
compressed with ``zstd -3`` (the peer). Then, per run:

- **full-text scan**: lines containing ``req=000`` (about 1 in 4096) over the whole day:
  chronolog (decrypt, decompress, search, order; the rows rendered as the API would) against
  ``zstd -dc day.zst | grep -F -c req=000``; both must count the same lines;
- **one-minute window**: every line of one minute in the middle of the day, rendered.

Medians, then each run. The machine is shared: compare within a run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import DAY_US, LINE_BYTES, T0, iter_batches

from collector.query.engine import QuerySpec, run_query
from collector.store.keys import FileMasterKeys
from collector.store.local import LocalStore, StoreConfig

NEEDLE = "req=000"
MINUTE_US = 60_000_000


async def build(root: Path, lines: int) -> tuple[LocalStore, Path, int]:
    master = FileMasterKeys.create(root / "master.key")
    store = LocalStore(root / "data", master, StoreConfig(fsync=False)).open()
    maintenance = asyncio.create_task(store.maintain(tick=0.5))
    plain = root / "day.log"
    raw = 0
    with plain.open("w") as f:
        for batch in iter_batches(lines, 4000):
            await store.append("bench", batch, 1)
            for c in batch.chunks:
                text = "\n".join(c.msg) + "\n"
                raw += len(text)
                f.write(text)
    maintenance.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await maintenance
    await store.seal("bench")
    subprocess.run(["zstd", "-3", "-q", "-T1", "--rm", str(plain), "-o", str(plain) + ".zst"], check=True)
    return store, Path(str(plain) + ".zst"), raw


def chronolog_query(store: LocalStore, since: int, until: int, grep: str | None) -> tuple[float, int]:
    t0 = time.perf_counter()
    spec = QuerySpec(since, until, grep=grep, limit=10_000_000)
    result = run_query(store.scan("bench", since, until, contains=grep), spec)
    body = b"\n".join(orjson.dumps(row.record("Asia/Tokyo")) for row in result.rows)
    took = time.perf_counter() - t0
    assert body or not result.rows
    return took, result.matched


def peer_grep(zst: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    out = subprocess.run(f"zstd -dc {zst} | grep -F -c {NEEDLE}", shell=True, capture_output=True, text=True)
    return time.perf_counter() - t0, int(out.stdout.strip() or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to write (default: the system temp directory)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-scan-", dir=args.dir))
    try:
        t0 = time.perf_counter()
        store, zst, raw = asyncio.run(build(root, args.lines))
        segments = sum(p.stat().st_size for p in (root / "data").rglob("seg-*.cls"))
        print(f"# {args.lines} lines of {LINE_BYTES} bytes over one day from 8 hosts, "
              f"{raw / 1e6:.0f} MB raw; store {segments / 1e6:.0f} MB in segments, "
              f"peer {zst.stat().st_size / 1e6:.0f} MB (zstd -3); "
              f"built in {time.perf_counter() - t0:.0f} s", flush=True)
        day = (T0, T0 + DAY_US)
        minute = (T0 + DAY_US // 2, T0 + DAY_US // 2 + MINUTE_US)
        scans, peers, windows = [], [], []
        for i in range(args.runs):
            took, ours = chronolog_query(store, *day, NEEDLE)
            ptook, theirs = peer_grep(zst)
            assert ours == theirs, f"chronolog found {ours} lines, grep {theirs}"
            wtook, rows = chronolog_query(store, *minute, None)
            blocks = len(list(store.scan("bench", *minute)))
            scans.append(took)
            peers.append(ptook)
            windows.append(wtook)
            print(f"run {i + 1}: scan {took:.2f} s ({ours} lines, {raw / took / 1e6:.0f} MB/s raw); "
                  f"zstd -dc | grep -F {ptook:.2f} s ({theirs} lines); window {wtook * 1000:.1f} ms "
                  f"({rows} lines, {blocks} blocks opened)", flush=True)
        scan, peer, window = (statistics.median(x) for x in (scans, peers, windows))
        print("\n# medians")
        print(f"full-text scan: chronolog {scan:.2f} s ({raw / scan / 1e6:.0f} MB/s of raw lines), "
              f"zstd -dc | grep -F {peer:.2f} s; ratio {scan / peer:.2f}x (target: within 2x)")
        print(f"one-minute window out of the day: {window * 1000:.1f} ms (target: < 100 ms)")
        store.close()
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
