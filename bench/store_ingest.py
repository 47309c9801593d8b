"""Collector store ingest, with fsync and encryption, on this machine.

    .venv/bin/python bench/store_ingest.py [--lines 2000000] [--runs 3] [--http] [--dir DIR]
                                           [--sealers 2] [--zstd-level N]
                                           [--compare-sealers 1] [--compare-level N]

Per run, with 256-byte lines in batches of 4000 (1 MiB) from 8 hosts appended by 8
concurrent writers (as 8 agents would), it prints:

- **store, acknowledged**: lines/s and MB/s until the last append returned (each one durable:
  encrypted WAL, group commit, fsync), with the sealer running beside it as in the collector;
- **store, sustained**: lines/s until every line is also sealed into segments (sorted, zstd,
  AES-256-GCM, catalog, signed checkpoint) by ``--sealers`` sealer processes; with
  ``--compare-sealers N`` the same store with N sealers runs in alternation, as the peer;
- CPU seconds per million lines of the store, its sealer processes included, and the
  throughput that CPU allows on this machine's cores (what the machine's other load hides);
- **peer**: the same line bytes appended to a plain file with one fsync per batch (the floor
  any durable log pays);
- **HTTP** (``--http``): a real ``chronolog-collector`` process fed through ``POST /v1/push``
  by 8 concurrent connections (bodies pre-compressed, so the client costs little);
- bytes on disk per raw byte (segments; WAL), verify seconds per GB, CPU seconds, peak RSS.

Medians over the runs, then each run. The machine is shared: compare ratios within a run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import LINE_BYTES, make_batches

from chronolog.wire import CONTENT_TYPE, Batch, compress, encode_batch
from collector.store.keys import FileMasterKeys
from collector.store.local import LocalStore, StoreConfig
from collector.store.sealing import SealJob, SealRunner

WRITERS = 8
BATCH_LINES = 4000
BIN = Path(sys.executable).parent


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def warm(runner: SealRunner) -> None:
    """Wait until every sealer process has started (its imports take about a CPU second): a
    collector starts them once, long before any sustained load; not inside the measurement."""
    jobs = [runner.prepare(SealJob("bench", [], {})) for _ in range(runner.width)]
    for job in jobs:
        job.result()


def dir_bytes(path: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in path.rglob(pattern))


async def store_run(batches: list[Batch], root: Path, sealers: int, level: int) -> dict[str, Any]:
    master = FileMasterKeys.create(root / "master.key")
    store = LocalStore(root / "data", master, StoreConfig(sealers=sealers, zstd_level=level)).open()
    warm(store.runner)
    lines = sum(len(c) for b in batches for c in b.chunks)
    raw = sum(len(m) for b in batches for c in b.chunks for m in c.msg)
    maintenance = asyncio.create_task(store.maintain(tick=0.2))
    cpu0, t0 = cpu_s(), time.perf_counter()

    async def writer(k: int) -> None:
        for b in batches[k::WRITERS]:
            await store.append("bench", b, 1)

    await asyncio.gather(*(writer(k) for k in range(WRITERS)))
    acked = time.perf_counter() - t0
    wal_peak = dir_bytes(root / "data", "wal-*.log")
    maintenance.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await maintenance
    await store.seal("bench")
    sustained = time.perf_counter() - t0
    cpu = cpu_s() - cpu0 + sum(_proc_cpu(p) for p in _children(os.getpid()))  # sealer processes
    segments = dir_bytes(root / "data", "seg-*.cls")
    t1 = time.perf_counter()
    report = store.verify("bench")
    verify_s = time.perf_counter() - t1
    assert report.clean, report.findings
    store.close()
    return {
        "sealers": sealers, "zstd_level": level, "lines": lines, "raw_mb": raw / 1e6,
        "acked_lines_s": lines / acked, "acked_mb_s": raw / acked / 1e6,
        "sustained_lines_s": lines / sustained, "sustained_mb_s": raw / sustained / 1e6,
        "cpu_s": cpu, "cpu_s_per_m_lines": cpu / lines * 1e6,
        "cpu_bound_lines_s": lines / cpu * (os.cpu_count() or 1), "segments": report.segments,
        "disk_per_raw": segments / raw, "wal_per_raw_last_file": wal_peak / raw if wal_peak else None,
        "verify_s_per_gb_stored": verify_s / (segments / 1e9), "verify_s_per_gb_raw": verify_s / (raw / 1e9),
    }


def peer_run(batches: list[Batch], root: Path) -> dict[str, Any]:
    """The same line bytes to a plain file, one write + fsync per batch, one writer."""
    blobs = ["\n".join(m for c in b.chunks for m in c.msg).encode() + b"\n" for b in batches]
    lines = sum(len(c) for b in batches for c in b.chunks)
    fd = os.open(root / "plain.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    t0 = time.perf_counter()
    for blob in blobs:
        os.write(fd, blob)
        os.fsync(fd)
    took = time.perf_counter() - t0
    os.close(fd)
    raw = sum(len(b) for b in blobs)
    return {"lines_s": lines / took, "mb_s": raw / took / 1e6}


async def http_run(batches: list[Batch], root: Path) -> dict[str, Any]:
    import aiohttp

    config = root / "collector.toml"
    config.write_text(f'[collector]\ndata_dir = "{root / "data"}"\nlog_level = "warning"\n'
                      '[collector.api]\nlisten = "127.0.0.1:0"\nmax_body_bytes = 67108864\n'
                      '[collector.metrics]\nenabled = false\n'
                      f'[collector.keys]\nmaster_key_file = "{root / "master.key"}"\n')
    run = [BIN / "chronolog-collector"]
    subprocess.run([*run, "keys", "-c", config, "init"], check=True, capture_output=True)
    issue = [*run, "credentials", "-c", config, "issue", "--tenant", "bench", "--role", "agent",
             "--name", "bench"]
    token = subprocess.run(issue, check=True, capture_output=True, text=True).stdout.strip()
    bodies = [compress(encode_batch(b), "zstd") for b in batches]
    lines = sum(len(c) for b in batches for c in b.chunks)
    raw = sum(len(m) for b in batches for c in b.chunks for m in c.msg)
    ready = root / "ready.json"
    proc = subprocess.Popen([*run, "run", "--config", config, "--ready-file", ready])
    try:
        while not ready.exists():
            if proc.poll() is not None:
                raise SystemExit("collector exited")
            await asyncio.sleep(0.05)
        url = json.loads(ready.read_text())["api"] + "/v1/push"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": CONTENT_TYPE,
                   "Content-Encoding": "zstd"}
        cpu0 = _proc_cpu(proc.pid)
        t0 = time.perf_counter()
        async with aiohttp.ClientSession() as session:

            async def sender(k: int) -> None:
                for body in bodies[k::WRITERS]:
                    async with session.post(url, data=body, headers=headers) as r:
                        assert r.status == 200, await r.text()

            await asyncio.gather(*(sender(k) for k in range(WRITERS)))
        took = time.perf_counter() - t0
        cpu = _proc_cpu(proc.pid) - cpu0
        rss = _proc_hwm_mb(proc.pid)
        sealer = [_proc_hwm_mb(p) for p in _children(proc.pid)]
    finally:
        proc.terminate()
        proc.wait(timeout=120)
    return {"lines_s": lines / took, "mb_s": raw / took / 1e6, "collector_cpu_s": cpu,
            "collector_peak_rss_mb": rss, "sealer_peak_rss_mb": max(sealer, default=0.0)}


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs if r.get(key) is not None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--http", action="store_true", help="also through a real collector process")
    parser.add_argument("--sealers", type=int, default=2, help="sealer processes of the store")
    parser.add_argument("--zstd-level", type=int, default=StoreConfig().zstd_level)
    parser.add_argument("--compare-sealers", type=int, default=None,
                        help="also run the store with this many sealers, alternating")
    parser.add_argument("--compare-level", type=int, default=None,
                        help="the compared store's zstd level (default: --zstd-level)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to write (default: the system temp directory)")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    batches = make_batches(args.lines, BATCH_LINES)
    print(f"# {args.lines} lines of {LINE_BYTES} bytes, {len(batches)} batches of {BATCH_LINES}, "
          f"{WRITERS} concurrent writers, fsync on; {os.cpu_count()} CPUs", flush=True)
    stores, compared, peers, https = [], [], [], []
    for i in range(args.runs):
        for kind, out in (("store", stores), ("compare", compared), ("peer", peers), ("http", https)):
            if (kind == "http" and not args.http) or (kind == "compare" and args.compare_sealers is None):
                continue
            root = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-", dir=args.dir))
            try:
                if kind in ("store", "compare"):
                    n, level = args.sealers, args.zstd_level
                    if kind == "compare":
                        n, level = args.compare_sealers, args.compare_level or args.zstd_level
                    result = asyncio.run(store_run(batches, root, n, level))
                elif kind == "peer":
                    result = peer_run(batches, root)
                else:
                    result = asyncio.run(http_run(batches, root))
            finally:
                shutil.rmtree(root)
            out.append(result)
            shown = (f"{k}={v:,.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items())
            print(f"run {i + 1} {kind}: " + ", ".join(shown), flush=True)
    print("\n# medians")
    print(f"store, acknowledged (WAL, fsync, AES-256-GCM): {median(stores, 'acked_lines_s'):,.0f} "
          f"lines/s, {median(stores, 'acked_mb_s'):,.1f} MB/s")
    print(f"store, sustained (also sealed into segments):   {median(stores, 'sustained_lines_s'):,.0f} "
          f"lines/s, {median(stores, 'sustained_mb_s'):,.1f} MB/s")
    print(f"store CPU (sealers included): {median(stores, 'cpu_s_per_m_lines'):.2f} s per million lines, "
          f"so {median(stores, 'cpu_bound_lines_s'):,.0f} lines/s on {os.cpu_count()} cores when CPU-bound")
    if compared:
        print(f"same store with {args.compare_sealers} sealer(s), zstd level "
              f"{args.compare_level or args.zstd_level}: sustained "
              f"{median(compared, 'sustained_lines_s'):,.0f} lines/s, "
              f"{median(compared, 'cpu_s_per_m_lines'):.2f} CPU s per million lines, "
              f"{median(compared, 'disk_per_raw'):.3f} bytes on disk per raw byte; sustained ratio "
              f"{median(stores, 'sustained_lines_s') / median(compared, 'sustained_lines_s'):.2f}")
    print(f"peer, plain append + fsync per batch:           {median(peers, 'lines_s'):,.0f} lines/s, "
          f"{median(peers, 'mb_s'):,.1f} MB/s")
    print(f"store acknowledged / peer: {median(stores, 'acked_lines_s') / median(peers, 'lines_s'):.2f}")
    if https:
        print(f"HTTP, real collector (POST /v1/push):           {median(https, 'lines_s'):,.0f} lines/s, "
              f"{median(https, 'mb_s'):,.1f} MB/s, collector CPU {median(https, 'collector_cpu_s'):.1f} s, "
              f"peak RSS {median(https, 'collector_peak_rss_mb'):.0f} MB "
              f"(its sealer process {median(https, 'sealer_peak_rss_mb'):.0f} MB)")
    print(f"bytes on disk per raw byte (segments): {median(stores, 'disk_per_raw'):.3f}")
    print(f"verify: {median(stores, 'verify_s_per_gb_stored'):.2f} s per GB stored, "
          f"{median(stores, 'verify_s_per_gb_raw'):.2f} s per GB of raw lines")
    print(f"store process CPU {median(stores, 'cpu_s'):.1f} s per run; peak RSS {peak_rss_mb():.0f} MB "
          "(whole benchmark process, data set included)")


if __name__ == "__main__":
    main()
