"""What a real collector takes from one agent, by batches in flight and batch size.

    .venv/bin/python bench/push_depth.py [--mb 256] [--runs 3] [--shapes 1x1,1x2,4x1] [--dir DIR]
                                         [--profile DIR] [--baseline BIN]

A real ``chronolog-collector`` (encrypted WAL, fsync, sealers, pinned to the last core as in
bench/ship.py) is fed ``POST /v1/push`` bodies as the agent makes them (wire version 2, zstd
level 1, 256-byte lines of bench/ship.py), pre-compressed, so the client costs little. Each
shape ``SIZExDEPTH`` sends SIZE-MiB batches with DEPTH of them in flight (DEPTH connections),
the shapes alternating run by run. Per run: MB/s until the last acknowledgement, the median
time from a batch's send to its acknowledgement, and the collector's own CPU per MB (its
sealers' apart). It answers whether one agent into a collector is held back by the time each
batch waits for its acknowledgement (more in flight helps) or by the collector's work (it
does not). The machine is shared: compare shapes within one invocation. ``--profile DIR``
samples the collector's threads holding the GIL with py-spy and prints its top functions.
``--baseline BIN`` runs another checkout's collector (``BIN``: its ``.venv/bin``) beside this
one, as ``base``, shape by shape.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ship import BIN, LINE, collector_usage, generate, profile_top, profiler, ready_json, start, stop

from chronolog.wire import UNKNOWN_CLOCK, ColumnChunk, compress, encode_columns

T0 = 1_795_800_000_000_000


def bodies(data: Path, size: int, total: int) -> list[bytes]:
    """``total`` bytes of lines as compressed version-2 batches of ``size`` bytes, in order."""
    per = size // LINE
    lines = data.read_bytes()[:total]
    out = []
    for first in range(0, len(lines) // LINE, per):
        text = lines[first * LINE:(first + per) * LINE].rstrip(b"\n")
        n = text.count(b"\n") + 1
        chunk = ColumnChunk("file:/bench.log", first, T0, UNKNOWN_CLOCK, n, text,
                            array("q", range(T0 + first, T0 + first + n)), [(0, ("explicit", 0, 29))])
        out.append(compress(encode_columns("bench-agent", "bench", "Asia/Tokyo", T0, [chunk]), "zstd"))
    return out


def collector(work: Path, bin_dir: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    conf, token = work / "collector.toml", work / "agent.token"
    conf.write_text(f'[collector]\ndata_dir = "{work / "store"}"\nlog_level = "warning"\n'
                    '[collector.api]\nlisten = "127.0.0.1:0"\n'
                    '[collector.metrics]\nenabled = false\n[collector.fleet.clock]\nservers = []\n'
                    f'[collector.keys]\nmaster_key_file = "{work / "master.key"}"\n')
    exe = bin_dir / "chronolog-collector"
    subprocess.run([exe, "keys", "-c", conf, "init"], check=True, capture_output=True)
    subprocess.run([exe, "credentials", "-c", conf, "issue", "--tenant", "bench", "--role", "agent",
                    "--name", "a", "--token-file", token], check=True, capture_output=True)
    cpus = sorted(os.sched_getaffinity(0))
    proc = start([exe, "run", "-c", conf, "--ready-file", work / "c.ready"], work / "collector.log",
                 {cpus[-1]} if len(cpus) > 1 else None)
    return proc, ready_json(work / "c.ready")["api"], token.read_text().strip()


def run(work: Path, batches: list[bytes], depth: int, profile: Path | None,
        bin_dir: Path = BIN) -> dict[str, float]:
    proc, url, token = collector(work, bin_dir)
    spy = None
    try:
        host, port = url.split("//")[1].rsplit(":", 1)
        headers = {"Content-Type": "application/vnd.chronolog.batch", "Content-Encoding": "zstd",
                   "Authorization": f"Bearer {token}"}
        todo = iter(batches)
        lock = threading.Lock()
        waits: list[float] = []
        failed: list[str] = []

        def sender() -> None:
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
            while True:
                with lock:
                    body = next(todo, None)
                if body is None:
                    return
                began = time.perf_counter()
                conn.request("POST", "/v1/push", body, headers)
                answer = conn.getresponse()
                text = answer.read()
                waits.append(time.perf_counter() - began)
                if answer.status != 200:
                    failed.append(f"{answer.status} {text[:200]!r}")

        before = collector_usage(proc.pid)
        if profile is not None:
            spy = profiler(proc.pid, profile)
        began = time.perf_counter()
        threads = [threading.Thread(target=sender) for _ in range(depth)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - began
        own, sealers = (a - b for a, b in zip(collector_usage(proc.pid), before, strict=True))
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait()
        stop(proc)
    if failed:
        raise SystemExit(f"the collector refused a batch: {failed[0]}")
    return {"seconds": seconds, "wait": statistics.median(waits), "cpu": own, "sealers": sealers}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mb", type=int, default=256, help="MB of lines per run")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--shapes", default="1x1,1x2,4x1", help="SIZE_MIBxDEPTH,...")
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "chronolog-bench-depth")
    p.add_argument("--profile", type=Path, default=None, help="directory for py-spy samples of the collector")
    p.add_argument("--baseline", type=Path, default=None,
                   help="another checkout's .venv/bin: its collector runs beside this one (base)")
    args = p.parse_args()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    args.dir.mkdir(parents=True, exist_ok=True)
    total = args.mb * 10**6
    data = args.dir / f"lines-{total // LINE}.log"
    generate(data, total // LINE)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    prepared = {size: bodies(data, size << 20, total) for size in {s for s, _ in sizes}}
    collectors = [("", BIN)] + ([("base ", args.baseline)] if args.baseline is not None else [])
    shapes = [(size, depth, name) for size, depth in sizes for name, _ in collectors]
    results: dict[tuple[int, int, str], list[dict[str, float]]] = {s: [] for s in shapes}
    print(f"# {args.mb} MB of {LINE}-byte lines a run; {args.runs} runs, shapes alternating")
    for i in range(args.runs):
        for size, depth, name in shapes:
            spied = args.profile / f"{name.strip()}{size}x{depth}.raw" if args.profile is not None else None
            r = run(args.dir / "run", prepared[size], depth, spied, dict(collectors)[name])
            results[(size, depth, name)].append(r)
            per_mb = 1000 * r["cpu"] / args.mb
            print(f"run {i + 1}: {name}{size} MiB x {depth} in flight: {args.mb / r['seconds']:6.1f} MB/s  "
                  f"ack wait {r['wait'] * 1000:6.1f} ms  collector {per_mb:5.2f} ms CPU/MB  "
                  f"sealers {r['sealers']:5.2f} CPU-s", flush=True)
    first = shapes[0]
    for shape, runs in results.items():
        speed = statistics.median(args.mb / r["seconds"] for r in runs)
        pairs = zip(runs, results[first], strict=True)
        ratio = statistics.median(a["seconds"] / r["seconds"] for r, a in pairs)
        print(f"median: {shape[2]}{shape[0]} MiB x {shape[1]} in flight: {speed:6.1f} MB/s "
              f"({ratio:.2f}x {first[2]}{first[0]} MiB x {first[1]}), ack wait "
              f"{statistics.median(r['wait'] for r in runs) * 1000:.1f} ms, collector "
              f"{statistics.median(1000 * r['cpu'] / args.mb for r in runs):.2f} ms CPU/MB")
        if args.profile is not None:
            files = sorted(args.profile.glob(f"{shape[2].strip()}{shape[0]}x{shape[1]}-*.raw"))
            shown = profile_top(files, 25)
            print(f"# profile of the {shape[2]}collector ({shape[0]} MiB x {shape[1]}, GIL held): {shown}")


if __name__ == "__main__":
    main()
