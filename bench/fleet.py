"""The fleet view's costs, on this machine.

    .venv/bin/python bench/fleet.py [--hosts 1000] [--repeat 15] [--lines 1000000] [--runs 5]

**`chronolog hosts` for N hosts.** A real ``chronolog-collector`` is given N hosts (three
streams each, a clock view, two pushes so each cross-check is two-sided); then, alternating,
each ``--repeat`` times, wall time of:

- ``chronolog hosts`` (the table) and ``chronolog hosts --json``, as an investigator types them;
- ``GET /v1/hosts`` alone, from this process (the collector's work plus the transfer);
- the peers: ``chronolog --help`` (the interpreter and the command's imports: the floor of any
  ``chronolog`` command) and ``curl`` fetching the same answer (no Python on the client).

**The registry's cost to ingest.** A real collector process (fsync, encryption, sealing, as
in production) is fed ``--lines`` 256-byte lines through ``POST /v1/push`` by 8 concurrent
connections (bodies pre-compressed), with the fleet registry, and with the registry's
``observe`` replaced by a no-op (everything else equal), alternating, ``--runs`` times each,
in batches of 4000 lines (1 MiB, a busy agent) and of 100 lines (a quiet one, where the cost
per push matters most). Lines/s and the collector's CPU seconds, medians, and the ratio. On a
shared machine those swing by more than the registry costs, so the registry's CPU per push
(``Fleet.observe`` alone, CPU time) is also set against the collector's CPU per push: its
share of ingest. And one save of N hosts.

The machine is shared: compare within a run, never with figures from elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import LINE_BYTES, make_batches
from store_ingest import WRITERS, _proc_cpu

from chronolog.timefmt import now_us
from chronolog.wire import CONTENT_TYPE, Batch, Chunk, ClockView, compress, encode_batch

BIN = Path(sys.executable).parent
GOOD = ClockView(offset=0.00002, bound=0.0004, synced=True, status="ok", source="audit")


def collector_config(root: Path) -> Path:
    config = root / "collector.toml"
    config.write_text(f'[collector]\ndata_dir = "{root / "data"}"\nlog_level = "warning"\n'
                      '[collector.api]\nlisten = "127.0.0.1:0"\nmax_body_bytes = 67108864\n'
                      '[collector.metrics]\nenabled = false\n'
                      f'[collector.keys]\nmaster_key_file = "{root / "master.key"}"\n'
                      '[collector.fleet.clock]\nservers = []\n')
    subprocess.run([BIN / "chronolog-collector", "keys", "-c", config, "init"], check=True,
                   capture_output=True)
    return config


def issue(config: Path, role: str) -> str:
    return subprocess.run([BIN / "chronolog-collector", "credentials", "-c", config, "issue", "--tenant",
                           "bench", "--role", role, "--name", role], check=True, capture_output=True,
                          text=True).stdout.strip()


def start(config: Path, root: Path, registry: bool = True) -> tuple[subprocess.Popen[bytes], str]:
    ready = root / "ready.json"
    ready.unlink(missing_ok=True)
    command = ([BIN / "chronolog-collector", "run", "--config", config, "--ready-file", ready] if registry
               else [sys.executable, __file__, "--child-without-registry", str(config), str(ready)])
    proc = subprocess.Popen(command)
    while not ready.exists():
        if proc.poll() is not None:
            raise SystemExit("the collector exited")
        time.sleep(0.05)
    return proc, json.loads(ready.read_text())["api"]


def child_without_registry(config: str, ready: str) -> None:
    """The collector exactly as `chronolog-collector run`, but for the registry's work per push."""
    from collector.app import serve
    from collector.config import load_config
    from collector.fleet.service import Fleet

    def no_registry(self: Fleet, tenant: str, batch: Batch, arrived: int, received: int,
                    answered: tuple[str, int] | None) -> str:
        return "0"

    Fleet.observe = no_registry  # type: ignore[method-assign]
    asyncio.run(serve(load_config(Path(config)), Path(ready)))


# ---- chronolog hosts ------------------------------------------------------------------------


def push(url: str, token: str, body: bytes, answered: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": CONTENT_TYPE, "Content-Encoding": "zstd"}
    if answered:
        headers["Chronolog-Answered"] = answered
    request = urllib.request.Request(url + "/v1/push", data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return str(response.headers["Chronolog-Exchange"])


def host_batch(host: str, seq: int) -> Batch:
    """A push from ``host``: a line on each of three streams."""
    now = now_us()
    chunks = [Chunk(stream, seq, now - 150_000, GOOD, [f"{host} {stream} {seq}"], [now - 200_000],
                    ["explicit"], [None]) for stream in ("file:/var/log/app.log", "journald", "clock")]
    return Batch(f"agent-{host}", host, "Asia/Tokyo", now, chunks)


def host_body(host: str, seq: int) -> bytes:
    return compress(encode_batch(host_batch(host, seq)), "zstd")


def timed(command: list[str | Path]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    result = subprocess.run(command, capture_output=True)
    took = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert result.returncode in (0, 3), result.stderr
    return took, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def hosts_bench(n: int, repeat: int) -> dict[str, tuple[float, float]]:
    """Per command: median wall and CPU milliseconds (the client's CPU: the collector's work
    is in the wall time)."""
    root = Path(tempfile.mkdtemp(prefix="bench-hosts-"))
    config = collector_config(root)
    agent, investigator = issue(config, "agent"), issue(config, "investigator")
    (root / "investigator.token").write_text(investigator)
    proc, url = start(config, root)
    try:
        t0 = time.perf_counter()
        for i in range(n):
            host = f"web-{i:04d}"
            exchange = push(url, agent, host_body(host, 0))
            push(url, agent, host_body(host, 1), f"{exchange} {now_us()}")
        print(f"# {n} hosts pushed twice each in {time.perf_counter() - t0:.1f} s", flush=True)
        cli = [BIN / "chronolog", "--url", url, "--token-file", root / "investigator.token", "hosts"]
        shown = subprocess.run(cli, capture_output=True, text=True)
        assert shown.stdout.count(" reporting ") == n, shown.stdout[-500:]
        curl = shutil.which("curl")
        commands: dict[str, list[str | Path]] = {
            "chronolog hosts": cli, "chronolog hosts --json": [*cli, "--json"],
            "peer: chronolog --help": [BIN / "chronolog", "--help"]}
        if curl:
            bearer_header = f"Authorization: Bearer {investigator}"
            commands["peer: curl GET /v1/hosts"] = [curl, "-sf", "-o", "/dev/null", "-H", bearer_header,
                                                    url + "/v1/hosts"]
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        runs["GET /v1/hosts (in-process client)"] = []
        for _ in range(repeat):
            for name, command in commands.items():
                runs[name].append(timed(command))
            bearer = {"Authorization": f"Bearer {investigator}"}
            request = urllib.request.Request(url + "/v1/hosts", headers=bearer)
            t0, c0 = time.perf_counter(), time.process_time()
            with urllib.request.urlopen(request, timeout=60) as response:
                size = len(response.read())
            took = (time.perf_counter() - t0, time.process_time() - c0)
            runs["GET /v1/hosts (in-process client)"].append(took)
        print(f"# GET /v1/hosts answer: {size / 1e6:.2f} MB")
        return {name: (statistics.median(w for w, _ in values) * 1000,
                       statistics.median(c for _, c in values) * 1000) for name, values in runs.items()}
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(root)


# ---- the registry's cost to ingest ----------------------------------------------------------


async def feed(url: str, token: str, bodies: list[bytes]) -> float:
    import aiohttp

    headers = {"Authorization": f"Bearer {token}", "Content-Type": CONTENT_TYPE, "Content-Encoding": "zstd"}
    t0 = time.perf_counter()
    async with aiohttp.ClientSession() as session:

        async def sender(k: int) -> None:
            for body in bodies[k::WRITERS]:
                async with session.post(url + "/v1/push", data=body, headers=headers) as r:
                    assert r.status == 200, await r.text()

        await asyncio.gather(*(sender(k) for k in range(WRITERS)))
    return time.perf_counter() - t0


def ingest_run(bodies: list[bytes], lines: int, registry: bool) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="bench-fleet-ingest-"))
    config = collector_config(root)
    token = issue(config, "agent")
    proc, url = start(config, root, registry)
    try:
        cpu0 = _proc_cpu(proc.pid)
        took = asyncio.run(feed(url, token, bodies))
        cpu = _proc_cpu(proc.pid) - cpu0
    finally:
        proc.terminate()
        proc.wait(timeout=120)
        shutil.rmtree(root)
    return {"lines_s": lines / took, "cpu_s": cpu}


def ingest_bench(lines: int, runs: int, batch_lines: int) -> dict[str, float]:
    batches = make_batches(lines, batch_lines)
    bodies = [compress(encode_batch(b), "zstd") for b in batches]
    results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for i in range(runs):
        for registry in ((True, False) if i % 2 == 0 else (False, True)):
            result = ingest_run(bodies, lines, registry)
            results[registry].append(result)
            print(f"  batch {batch_lines} run {i + 1} registry {'on ' if registry else 'off'}: "
                  f"{result['lines_s']:,.0f} lines/s, collector CPU {result['cpu_s']:.2f} s", flush=True)
    on = {k: statistics.median(r[k] for r in results[True]) for k in ("lines_s", "cpu_s")}
    off = {k: statistics.median(r[k] for r in results[False]) for k in ("lines_s", "cpu_s")}
    return {"on_lines_s": on["lines_s"], "off_lines_s": off["lines_s"], "on_cpu_s": on["cpu_s"],
            "off_cpu_s": off["cpu_s"], "throughput_cost": 1 - on["lines_s"] / off["lines_s"],
            "cpu_cost": on["cpu_s"] / off["cpu_s"] - 1}


def observe_cost(n_hosts: int) -> dict[str, float]:
    """``Fleet.observe`` alone per push (µs), for a 4000-line and a 100-line batch, and one
    save of ``n_hosts`` hosts (ms)."""
    from collector.fleet.config import CollectorClockConfig, FleetConfig
    from collector.fleet.persist import FleetFiles
    from collector.fleet.service import Fleet

    class NoStore:
        def streams(self, tenant: str) -> list[Any]:
            return []

    fleet = Fleet(FleetConfig(clock=CollectorClockConfig(servers=[])), NoStore())  # type: ignore[arg-type]
    out = {}
    for size in (4000, 100):
        batch = make_batches(size, size)[0]
        now = now_us()
        reps = 2000
        t0 = time.process_time()
        for _ in range(reps):
            fleet.observe("bench", batch, now, now, None)
        out[f"observe_us_{size}"] = (time.process_time() - t0) / reps * 1e6
    for i in range(n_hosts):
        fleet.registry.observe("bench", host_batch(f"web-{i:04d}", 0), now_us(), now_us())
    root = Path(tempfile.mkdtemp(prefix="bench-fleet-save-"))
    try:
        files = FleetFiles(root)
        fleet.registry.dirty.add("bench")
        t0 = time.perf_counter()
        documents = files.changed(fleet.registry)
        dumped = time.perf_counter()
        files.write(documents)
        out["save_dump_ms"] = (dumped - t0) * 1000
        out["save_write_ms"] = (time.perf_counter() - dumped) * 1000
        out["save_bytes"] = len(documents[0][1])
    finally:
        shutil.rmtree(root)
    return out


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child-without-registry":
        child_without_registry(sys.argv[2], sys.argv[3])
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hosts", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    print(f"# chronolog hosts for {args.hosts} hosts, medians of {args.repeat}", flush=True)
    for name, (wall, cpu) in hosts_bench(args.hosts, args.repeat).items():
        print(f"{name:40s} {wall:8.1f} ms wall, {cpu:6.1f} ms CPU (client)")
    print(f"\n# the registry's cost: {args.lines} lines of {LINE_BYTES} bytes, {WRITERS} connections, "
          f"medians of {args.runs} alternating runs", flush=True)
    cost = observe_cost(args.hosts)
    for batch_lines in (4000, 100):
        r = ingest_bench(args.lines, args.runs, batch_lines)
        per_push_ms = r["off_cpu_s"] / (args.lines / batch_lines) * 1000
        share = cost[f"observe_us_{batch_lines}"] / 1000 / per_push_ms
        print(f"batches of {batch_lines}: registry on {r['on_lines_s']:,.0f} lines/s "
              f"(CPU {r['on_cpu_s']:.2f} s), off {r['off_lines_s']:,.0f} lines/s "
              f"(CPU {r['off_cpu_s']:.2f} s): throughput cost {r['throughput_cost']:+.1%}, "
              f"CPU cost {r['cpu_cost']:+.1%}; Fleet.observe {cost[f'observe_us_{batch_lines}']:.1f} µs "
              f"per push of the collector's {per_push_ms:.2f} ms: {share:.1%}", flush=True)
    print(f"\na save of {args.hosts} hosts: {cost['save_dump_ms']:.1f} ms to dump "
          f"({cost['save_bytes'] / 1e3:.0f} kB) in the event loop, {cost['save_write_ms']:.1f} ms to write "
          "and fsync in a thread (every save_interval, default 10 s, when something changed)")

if __name__ == "__main__":
    main()
