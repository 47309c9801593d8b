"""Evidence export and offline verification, on this machine.

    .venv/bin/python bench/evidence.py [--lines 200000] [--runs 3]

Builds one store of ``--lines`` 256-byte lines from 8 hosts over one hour, with each host's
clock records (an audit sample every 64 s), all sealed. Then per run, each side by side with
its peer on the same bytes:

- **export, whole hour**: selecting every line and its hosts' clock records, proving each
  against its segment's records root and writing the bundle, in process as the collector
  does after its seal: lines/s, bundle MB/s, CPU seconds; bundle bytes per raw line byte;
- **export, one minute**: milliseconds, and the bundle's size;
- **verify-export**: the real ``chronolog verify-export`` command on the whole-hour bundle
  (a process, its start-up included): lines/s and MB/s;
- **peer**: ``sha256sum`` of the same bundle file (a process), the least any verifier does:
  read and hash every byte once;
- **what records roots cost a seal**: CPU seconds of building a segment of the lines (sort
  order, zstd, AES-256-GCM, roots), and of the part that makes the roots (each line's
  canonical record, its leaf hash, the trees), on the same lines.

Medians over the runs, then each run. The machine is shared: compare ratios within a run.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import LINE_BYTES, T0, make_batches

from chronolog.evidence import merkle
from chronolog.evidence.bundle import write_bundle
from chronolog.wire import Batch, Chunk, ClockView
from collector.auth.credentials import Principal
from collector.evidence.clock import NoCrossCheck
from collector.evidence.export import ExportRequest, build_export
from collector.query.spec import Page, QuerySpec
from collector.store.crypto import new_key
from collector.store.keys import FileMasterKeys
from collector.store.leaves import record_bytes
from collector.store.lines import LineBlock
from collector.store.local import LocalStore, StoreConfig
from collector.store.segment import build_segment

HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000
HOSTS = 8
BIN = Path(sys.executable).parent
WHO = Principal("bench", "bench", "investigator", "bench")


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def clock_batches() -> list[Batch]:
    """Each host's audit samples every 64 s over the hour (stream ``clock``)."""
    times = list(range(T0 - MINUTE_US, T0 + HOUR_US + MINUTE_US, 64_000_000))
    out = []
    for h in range(HOSTS):
        n = len(times)
        chunk = Chunk("clock", 0, times[0], ClockView(offset=0.0004, bound=0.003, status="ok"),
                      ["clock sample: offset +0.4 ms, bound 3.0 ms"] * n, times, ["explicit"] * n, [None] * n,
                      fields=[(i, {"kind": "sample", "offset": 0.0004, "bound": 0.003}) for i in range(n)])
        out.append(Batch(f"agent-{h}", f"web-{h}", "Asia/Tokyo", times[-1], [chunk]))
    return out


async def build_store(root: Path, lines: int) -> LocalStore:
    master = FileMasterKeys.create(root / "master.key")
    store = LocalStore(root / "data", master, StoreConfig(seal_in_subprocess=False)).open()
    for b in [*make_batches(lines, 4000, HOSTS, span_us=HOUR_US), *clock_batches()]:
        await store.append("bench", b, 1)
    await store.seal("bench")
    return store


def export(store: LocalStore, spec: QuerySpec) -> tuple[bytes, int]:
    request = ExportRequest(Page(spec, None, 3600.0), 0, 60.0, WHO)
    built = build_export(store, "bench", request, NoCrossCheck(), T0 + 2 * HOUR_US)
    out = io.BytesIO()
    write_bundle(out, built.manifest, built.statement, built.records, built.proofs)
    return out.getvalue(), built.matches


def timed(argv: list[str | Path]) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True)
    return time.perf_counter() - t0, done


def seal_cost(sealed: LineBlock) -> dict[str, float]:
    """CPU seconds of building a segment, and of its records roots alone, over the same lines."""
    cpu0 = cpu_s()
    build_segment(sealed, tenant="bench", number=1, prev=bytes(32), sealed=1, wal_files=[],
                  tenant_key_id="tk", tenant_key=new_key(), runs=[])
    build = cpu_s() - cpu0
    cpu0 = cpu_s()
    for start in range(0, len(sealed.ts), 3300):  # about the lines of a 1 MiB block
        merkle.root(record_bytes(sealed.slice(start, start + 3300)))
    roots = cpu_s() - cpu0
    return {"seal_cpu_us_per_line": build / len(sealed.ts) * 1e6,
            "roots_cpu_us_per_line": roots / len(sealed.ts) * 1e6, "roots_share_of_seal": roots / build}


def one_run(store: LocalStore, root: Path, lines: int, raw: int, sealed: LineBlock) -> dict[str, Any]:
    whole = QuerySpec(T0, T0 + HOUR_US, limit=lines)
    cpu0, t0 = cpu_s(), time.perf_counter()
    data, matches = export(store, whole)
    took, cpu = time.perf_counter() - t0, cpu_s() - cpu0
    assert matches == lines, (matches, lines)
    bundle = root / "hour.evidence"
    bundle.write_bytes(data)
    minute = QuerySpec(T0 + 30 * MINUTE_US, T0 + 31 * MINUTE_US, limit=lines)
    t1 = time.perf_counter()
    small, small_lines = export(store, minute)
    minute_ms = (time.perf_counter() - t1) * 1e3
    key = root / "key.b64"
    key.write_text(store.public_key() + "\n")
    peer_s, peer = timed(["sha256sum", bundle])
    verify_s, verified = timed([BIN / "chronolog", "verify-export", bundle, "--key", key])
    assert peer.returncode == 0 and verified.returncode == 0, verified.stdout[-500:] + verified.stderr
    mb = len(data) / 1e6
    return {
        "export_lines_s": lines / took, "export_mb_s": mb / took, "export_cpu_s": cpu,
        "bundle_per_raw": len(data) / raw, "bundle_mb": mb,
        "minute_ms": minute_ms, "minute_lines": small_lines, "minute_kb": len(small) / 1e3,
        "verify_lines_s": lines / verify_s, "verify_mb_s": mb / verify_s,
        "sha256sum_mb_s": mb / peer_s, "verify_vs_sha256sum": verify_s / peer_s,
        **seal_cost(sealed),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chronolog-bench-evidence-") as tmp:
        root = Path(tmp)
        store = await build_store(root, args.lines)
        raw = args.lines * LINE_BYTES
        every = LineBlock.from_batches((1, b) for b in make_batches(args.lines, 4000, HOSTS, span_us=HOUR_US))
        sealed = every.take(every.timeline_order(), ordered=True)
        runs = [one_run(store, root, args.lines, raw, sealed) for _ in range(args.runs)]
        store.close()
    medians = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    m = medians
    print(f"{args.lines} lines of {LINE_BYTES} B from {HOSTS} hosts over one hour, {args.runs} runs; "
          "medians:")
    print(f"  export, whole hour:  {m['export_lines_s']:>10,.0f} lines/s  {m['export_mb_s']:6.1f} MB/s "
          f"of bundle  ({m['export_cpu_s']:.2f} CPU s; bundle {m['bundle_mb']:.1f} MB, "
          f"{m['bundle_per_raw']:.2f} bytes per raw byte)")
    print(f"  export, one minute:  {m['minute_ms']:.0f} ms ({m['minute_lines']:.0f} lines, "
          f"bundle {m['minute_kb']:.0f} kB)")
    print(f"  verify-export:       {m['verify_lines_s']:>10,.0f} lines/s  {m['verify_mb_s']:6.1f} MB/s")
    print(f"  peer sha256sum:      {'':>10}          {m['sha256sum_mb_s']:6.1f} MB/s   "
          f"verify-export takes {m['verify_vs_sha256sum']:.1f}x its time")
    print(f"  sealing:             {m['seal_cpu_us_per_line']:.2f} CPU µs per line, of which records roots "
          f"{m['roots_cpu_us_per_line']:.2f} ({m['roots_share_of_seal']:.0%})")
    print(json.dumps(runs, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
