"""Benchmark: the clock audit against peers, on loopback NTP servers this script starts.

Two real chronyd -x servers: one serving this machine's clock, one serving it +250 ms
(SOCK reference clock, as in the tests). Per round and per server, each client measures:

- chronolog's exchange (``chronolog.clock.sntp``: asyncio, kernel receive timestamps);
- ntplib 0.4.0 (the library the project names; blocking, user-space timestamps);
- ``chronyd -Q`` (chrony's own client: "System clock wrong by X seconds").

Each client runs in its own process. Printed: the median error against the injected offset
(0 or +250 ms), the median delay, CPU microseconds per query and the process's peak RSS, with
ratios to ntplib; then the idle cost of the agent's clock monitor against a chronyd following
the same server (CPU seconds over the same wall time). Medians over ``--rounds``.

    .venv/bin/python bench/clock_audit.py [--rounds 5] [--queries 200] [--idle 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.ntp import AHEAD, Chronyd, SockFeeder, start_true_server, synchronised  # noqa: E402
from support.processes import free_udp_port, wait_for  # noqa: E402


def worker(kind: str, port: int, queries: int) -> None:
    """One client in this process: print offsets (local - server), delays, CPU and RSS.
    Each imports only what it needs (so RSS compares), and CPU is counted after the imports."""
    offsets: list[float] = []
    delays: list[float] = []
    if kind == "ours":
        from chronolog.clock.sntp import exchange, resolve

        async def run() -> float:
            # As in a burst: resolve once, then one exchange after another.
            cpu = time.process_time()
            family, address = await resolve("127.0.0.1", port, 1)
            for _ in range(queries):
                s = await exchange(f"127.0.0.1:{port}", family, address, timeout=1)
                offsets.append(s.offset)
                delays.append(s.delay)
            return time.process_time() - cpu

        cpu = asyncio.run(run())
    elif kind == "ntplib":
        import ntplib

        cpu = time.process_time()
        client = ntplib.NTPClient()
        for _ in range(queries):
            r = client.request("127.0.0.1", version=4, port=port, timeout=1)
            offsets.append(-r.offset)
            delays.append(r.delay)
        cpu = time.process_time() - cpu
    else:  # idle: the agent's clock monitor on its default schedule, for `queries` seconds
        from agent.clock.daemon import DaemonConfig
        from agent.clock.monitor import ClockConfig, ClockMonitor
        from agent.telemetry import Telemetry

        config = ClockConfig(servers=[f"127.0.0.1:{port}"], daemon=DaemonConfig(read="none"))

        async def idle() -> float:
            cpu = time.process_time()
            monitor = ClockMonitor(config, Telemetry(), record=lambda r: None)
            task = asyncio.create_task(monitor.run())
            await asyncio.sleep(queries)
            task.cancel()
            return time.process_time() - cpu

        cpu = asyncio.run(idle())
    print(json.dumps({"offsets": offsets, "delays": delays, "cpu": cpu,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_worker(kind: str, port: int, queries: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--worker", kind, str(port), str(queries)],
                         capture_output=True, text=True, check=True, timeout=600).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def chronyd_q(port: int, workdir: Path) -> dict[str, Any]:
    """chrony's own client, once: its offset estimate (local - server) and its CPU."""
    conf = workdir / "q.conf"
    conf.write_text(f"server 127.0.0.1 port {port} iburst maxsamples 4\n"
                    f"pidfile {workdir}/q.pid\ndriftfile {workdir}/q.drift\n")
    log = workdir / "q.log"
    peak = 0
    with log.open("w") as out:
        proc = subprocess.Popen(["chronyd", "-Q", "-u", "root", "-f", str(conf), "-d"], stdout=out,
                                stderr=out)
        while True:
            # Peak RSS from /proc (VmHWM restarts at exec; ru_maxrss would count the fork of
            # this Python process), until the process is a zombie.
            status = Path(f"/proc/{proc.pid}/status").read_text()
            hwm = re.search(r"VmHWM:\s+(\d+) kB", status)
            if hwm is None:
                break
            peak = max(peak, int(hwm.group(1)))
            time.sleep(0.02)
        _, _, usage = os.wait4(proc.pid, 0)  # this child's own CPU
        proc.returncode = 0
    text = log.read_text()
    match = re.search(r"System clock wrong by (-?[\d.]+) seconds", text)
    if match is None:
        raise SystemExit(f"chronyd -Q said: {text}")
    # chrony: "wrong by +x" means the clock is x behind true time.
    return {"offsets": [-float(match.group(1))], "delays": [], "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": peak / 1024}


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def view_cost() -> float:
    """Microseconds per `ClockMonitor.view()`, which every chunk of every input calls."""
    import timeit

    from agent.clock.daemon import DaemonConfig
    from agent.clock.monitor import ClockConfig, ClockMonitor
    from agent.telemetry import Telemetry
    from chronolog.clock.bound import Interval

    config = ClockConfig(servers=["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"],
                         daemon=DaemonConfig(read="none"))
    monitor = ClockMonitor(config, Telemetry())
    for server in monitor.auditor.servers:  # as after an audit of three servers that agree
        server.interval = Interval(-0.001, 0.002, time.monotonic())
    monitor.auditor.audited = True
    n = 20000
    return timeit.timeit(monitor.view, number=n) / n * 1e6


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--idle", type=int, default=60, help="seconds of idle monitoring to measure")
    p.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), int(args.worker[2]))
        return
    binary = shutil.which("chronyd")
    if binary is None:
        raise SystemExit("needs chronyd (Debian package chrony)")
    work = Path(tempfile.mkdtemp(prefix="bench-clock-"))
    true = start_true_server(binary, work / "true")
    ahead = Chronyd(binary, work / "ahead", "allow 127.0.0.1\nbindaddress 127.0.0.1\n"
                    "refclock SOCK {refclock} refid FAKE poll 0 filter 4")
    feeder = SockFeeder(ahead.refclock, AHEAD)
    feeder.start()
    try:
        wait_for(lambda: synchronised(ahead.port, b"FAKE"), "chronyd to serve +250 ms", timeout=60)
        print(f"# clock audit benchmark: {args.rounds} rounds x {args.queries} queries per client "
              f"and server; loopback; {os.cpu_count()} CPUs; chronyd -Q: 1 run per round")
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for _ in range(args.rounds):
            for name, server, expected in (("true", true, 0.0), ("+250ms", ahead, -AHEAD)):
                for kind in ("ours", "ntplib", "chronyd -Q"):
                    r = chronyd_q(server.port, work) if kind == "chronyd -Q" else \
                        run_worker(kind, server.port, args.queries)
                    r["errors"] = [abs(o - expected) for o in r["offsets"]]
                    results.setdefault((name, kind), []).append(r)
        print("# chronyd -Q: one estimate from 4 samples per run, so its CPU is per run / 4; its delay "
              "is not printed by -Q")
        print(f"{'server':8} {'client':11} {'median |error| us':>18} {'median delay us':>16} "
              f"{'CPU us/query':>13} {'peak RSS MB':>12} {'error vs ntplib':>16}")
        for name in ("true", "+250ms"):
            base = median([median(r["errors"]) for r in results[(name, "ntplib")]])
            for kind in ("ours", "ntplib", "chronyd -Q"):
                runs = results[(name, kind)]
                error = median([median(r["errors"]) for r in runs])
                delay = median([median(r["delays"]) for r in runs if r["delays"]])
                per = len(runs[0]["offsets"]) if kind != "chronyd -Q" else 4  # maxsamples 4
                cpu = median([r["cpu"] / per for r in runs]) * 1e6
                rss = median([r["rss_mb"] for r in runs])
                print(f"{name:8} {kind:11} {error * 1e6:18.1f} {delay * 1e6:16.1f} "
                      f"{cpu:13.0f} {rss:12.1f} {error / base if base else float('nan'):16.2f}")
        # Idle cost: the agent's monitor (audit every 64 s, 1 Hz watch) next to a chronyd
        # client following the same server, over the same wall time.
        client = Chronyd(binary, work / "client", f"server 127.0.0.1 port {true.port} iburst",
                         port=0, cmdport=free_udp_port())
        start = cpu_of(client.proc.pid)
        idle = run_worker("idle", true.port, args.idle)
        chrony_cpu = cpu_of(client.proc.pid) - start
        client.stop()
        print(f"ClockView per chunk (monitor.view(), 3 servers): {view_cost():.1f} us per call")
        print(f"idle {args.idle} s: clock monitor {idle['cpu']:.2f} CPU s "
              f"({idle['cpu'] / args.idle * 100:.2f}% of a core, peak RSS {idle['rss_mb']:.1f} MB); "
              f"chronyd client {chrony_cpu:.2f} CPU s ({chrony_cpu / args.idle * 100:.2f}%)")
    finally:
        feeder.stop()
        ahead.stop()
        true.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
