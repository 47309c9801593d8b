"""Shipping speed: a file of 256-byte lines, shipped until the last line is acknowledged.

Side by side, in one run, alternating:

- ``chronolog``: chronolog-agent tailing the file into a real chronolog-collector (fsync on);
  done when the agent's ledger says every line was acknowledged;
- ``agent->ack``: the same agent into a sink that acknowledges without decoding or storing
  (``bench/sinks.py ack``): the agent's own ceiling, whatever the collector costs;
- ``rsyslog``: a private rsyslogd (its own config and work directory), imfile -> omfwd over TCP
  to a sink counting lines (``bench/sinks.py tcp``); done when the sink has every line.

For each run: lines/s and MB/s (10^6 bytes of log per second, start-up included), the
shipper's CPU seconds (user + system, all threads) and peak RSS (VmHWM), read from /proc when
the last line is acknowledged. Then the idle agent: CPU share and RSS over IDLE seconds.

Usage: .venv/bin/python bench/ship.py [--lines N] [--runs R] [--idle S] [--only NAME,...]
Needs rsyslog for its column (apt-get install rsyslog; it is skipped, and said so, without).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
LINE = 256
TICK = os.sysconf("SC_CLK_TCK")


def generate(path: Path, n: int) -> None:
    """``n`` lines of exactly LINE bytes: an RFC 3339 time, a realistic body, ``seq=N``, and
    random key=value filler (trace and span ids), deterministic (seed 42)."""
    if path.exists() and path.stat().st_size == n * LINE:
        return
    rng = random.Random(42)
    t = 1_795_800_000.0
    kinds = ["nginx: 203.0.113.{a} - - \"GET /api/v1/items/{b} HTTP/1.1\" 200 {c} rt=0.0{d}",
             "sshd[{c}]: Accepted publickey for deploy from 198.51.100.{a} port {b} ssh2",
             "app level=info msg=\"order placed\" order_id={b} user={c} amount={d}.{a}"]
    with path.open("wb") as f:
        for i in range(n):
            t += rng.random() / 500
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t + 9 * 3600))
            body = rng.choice(kinds).format(a=rng.randrange(255), b=rng.randrange(10**6),
                                            c=rng.randrange(10**5), d=rng.randrange(1000))
            line = f"{stamp}.{int(t * 1000) % 1000:03d}+09:00 web-1 {body} seq={i:010d}"
            while len(line) < LINE - 1:
                line += f" trace_id={rng.getrandbits(128):032x} span={rng.getrandbits(32):08x}"
            f.write(line[: LINE - 1].encode() + b"\n")


def proc_usage(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system, all threads) and peak RSS in bytes of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    hwm = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) * 1024
    return cpu, hwm


def wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.02)


def ready_json(path: Path) -> dict[str, Any]:
    wait(path.exists, 60, f"{path}")
    return dict(json.loads(path.read_text()))


SHIPPER_CPU: set[int] | None = None  # the core the shipper is pinned to (--pin)
OTHER_CPUS: set[int] | None = None  # where the sinks and the collector run


def start(argv: list[Any], log: Path, cpus: set[int] | None = None) -> subprocess.Popen[bytes]:
    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    with log.open("ab") as out:
        return subprocess.Popen([str(a) for a in argv], stdout=out, stderr=out, preexec_fn=pin)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def agent_config(work: Path, url: str, token: Path, log: Path) -> Path:
    config = work / "agent.toml"
    config.write_text(
        f'[agent]\nhost = "bench"\nstate_dir = "{work / "agent-state"}"\nlog_level = "warning"\n'
        f'[agent.collector]\nurl = "{url}"\ntoken_file = "{token}"\n'
        '[agent.metrics]\nlisten = "127.0.0.1:0"\n'
        '[agent.clock]\nservers = ["127.0.0.1:9"]\ntimeout = 0.2\ninterval = 3600\n'
        "[agent.journald]\nenabled = false\n"
        f'[[agent.files]]\ninclude = ["{log}"]\nzone = "Asia/Tokyo"\n'
    )
    return config


def acked(status_url: str) -> int:
    with urllib.request.urlopen(status_url, timeout=5) as r:
        doc = json.loads(r.read())
    return sum(s["acked"] for s in doc["streams"])


def run_agent(work: Path, data: Path, n: int, sink: str) -> dict[str, float]:
    """chronolog-agent shipping ``data`` to a real collector or to the ack sink."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    extra: list[subprocess.Popen[bytes]] = []
    token = work / "agent.token"
    try:
        if sink == "collector":
            cconf = work / "collector.toml"
            cconf.write_text(f'[collector]\ndata_dir = "{work / "store"}"\nlog_level = "warning"\n'
                             '[collector.api]\nlisten = "127.0.0.1:0"\n'
                             '[collector.metrics]\nenabled = false\n[collector.fleet.clock]\nservers = []\n'
                             f'[collector.keys]\nmaster_key_file = "{work / "master.key"}"\n')
            subprocess.run([BIN / "chronolog-collector", "keys", "-c", cconf, "init"],
                           check=True, capture_output=True)
            subprocess.run([BIN / "chronolog-collector", "credentials", "-c", cconf, "issue", "--tenant",
                            "bench", "--role", "agent", "--name", "a", "--token-file", token],
                           check=True, capture_output=True)
            extra.append(start([BIN / "chronolog-collector", "run", "-c", cconf, "--ready-file",
                                work / "c.ready"], work / "collector.log", OTHER_CPUS))
            url = ready_json(work / "c.ready")["api"]
        else:
            token.write_text("bench-token\n")
            extra.append(start([sys.executable, HERE / "sinks.py", "ack", work / "sink.ready"],
                               work / "sink.log", OTHER_CPUS))
            wait(lambda: (work / "sink.ready").exists() and (work / "sink.ready").read_text() != "", 30,
                 "the sink")
            url = f"http://127.0.0.1:{(work / 'sink.ready').read_text()}"
        config = agent_config(work, url, token, data)
        began = time.monotonic()
        agent = start([BIN / "chronolog-agent", "run", "-c", config, "--ready-file", work / "a.ready"],
                      work / "agent.log", SHIPPER_CPU)
        try:
            status_url = ready_json(work / "a.ready")["status"]
            wait(lambda: acked(status_url) >= n, 3600, "every line acknowledged")
            elapsed = time.monotonic() - began
            cpu, hwm = proc_usage(agent.pid)
        finally:
            stop(agent)
    finally:
        for p in extra:
            stop(p)
    return {"seconds": elapsed, "cpu": cpu, "rss": hwm}


RSYSLOG_CONF = """\
global(workDirectory="{work}")
module(load="imfile" mode="inotify")
template(name="raw" type="string" string="%msg%\\n")
ruleset(name="ship") {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" template="raw")
}}
input(type="imfile" file="{data}" tag="bench" freshStartTail="off" ruleset="ship")
"""


def run_rsyslog(work: Path, data: Path, n: int) -> dict[str, float]:
    shutil.rmtree(work, ignore_errors=True)
    (work / "spool").mkdir(parents=True)
    sink = start([sys.executable, HERE / "sinks.py", "tcp", n, work / "sink.ready"], work / "sink.log",
                 OTHER_CPUS)
    try:
        wait(lambda: (work / "sink.ready").exists() and (work / "sink.ready").read_text() != "", 30, "sink")
        conf = work / "rsyslog.conf"
        conf.write_text(RSYSLOG_CONF.format(work=work / "spool", port=(work / "sink.ready").read_text(),
                                            data=data))
        began = time.monotonic()
        rsyslog = start(["rsyslogd", "-n", "-f", conf, "-i", work / "rsyslogd.pid"], work / "rsyslog.log",
                        SHIPPER_CPU)
        try:
            wait(lambda: Path(str(work / "sink.ready") + ".done").exists(), 3600, "rsyslog to deliver")
            elapsed = time.monotonic() - began
            cpu, hwm = proc_usage(rsyslog.pid)
        finally:
            stop(rsyslog)
    finally:
        stop(sink)
    return {"seconds": elapsed, "cpu": cpu, "rss": hwm}


def run_idle(work: Path, seconds: float) -> dict[str, float]:
    """An agent with nothing to read (one idle file, the ack sink): CPU share and RSS."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    idle_log = work / "idle.log"
    idle_log.write_bytes(b"")
    (work / "agent.token").write_text("bench-token\n")
    sink = start([sys.executable, HERE / "sinks.py", "ack", work / "sink.ready"], work / "sink.log")
    try:
        wait(lambda: (work / "sink.ready").exists() and (work / "sink.ready").read_text() != "", 30, "sink")
        config = agent_config(work, f"http://127.0.0.1:{(work / 'sink.ready').read_text()}",
                              work / "agent.token", idle_log)
        agent = start([BIN / "chronolog-agent", "run", "-c", config, "--ready-file", work / "a.ready"],
                      work / "agent.log")
        try:
            ready_json(work / "a.ready")
            time.sleep(2)  # start-up is not idling
            cpu0, _ = proc_usage(agent.pid)
            time.sleep(seconds)
            cpu1, _ = proc_usage(agent.pid)
            rss = int(next(line.split()[1] for line in Path(f"/proc/{agent.pid}/status").read_text()
                           .splitlines() if line.startswith("VmRSS:"))) * 1024
        finally:
            stop(agent)
    finally:
        stop(sink)
    return {"cpu_share": (cpu1 - cpu0) / seconds, "rss": rss}


def show(name: str, n: int, r: dict[str, float]) -> str:
    mb = n * LINE / 1e6
    return (f"{name:11s} lines/s={n / r['seconds']:10,.0f}  MB/s={mb / r['seconds']:6.1f}  "
            f"seconds={r['seconds']:6.2f}  cpu_s={r['cpu']:6.2f}  MB/s/core={mb / r['cpu']:6.1f}  "
            f"peak_rss_MB={r['rss'] / 1e6:6.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lines", type=int, default=400_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--idle", type=float, default=20.0, help="seconds of idle measurement (0: skip)")
    p.add_argument("--only", default="chronolog,agent->ack,rsyslog")
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "chronolog-bench-ship")
    p.add_argument("--no-pin", action="store_true",
                   help="do not pin the shipper to one core and the receivers to the others")
    args = p.parse_args()
    global SHIPPER_CPU, OTHER_CPUS
    cpus = sorted(os.sched_getaffinity(0))
    if not args.no_pin and len(cpus) >= 2:
        SHIPPER_CPU, OTHER_CPUS = {cpus[0]}, set(cpus[1:])
        print(f"# shipper pinned to cpu {cpus[0]}; receivers on {cpus[1:]}")
    args.dir.mkdir(parents=True, exist_ok=True)
    data = args.dir / f"lines-{args.lines}.log"
    generate(data, args.lines)
    subprocess.run(["cat", str(data)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    wanted = args.only.split(",")
    if "rsyslog" in wanted and shutil.which("rsyslogd") is None:
        print("# rsyslogd not found: apt-get install rsyslog for the peer column", file=sys.stderr)
        wanted.remove("rsyslog")
    mb = args.lines * LINE / 1e6
    print(f"# {args.lines} lines x {LINE} B = {mb:.0f} MB; {args.runs} runs, alternating")
    results: dict[str, list[dict[str, float]]] = {name: [] for name in wanted}
    for run in range(args.runs):
        for name in wanted:
            work = args.dir / f"run-{name.replace('->', '-')}"
            if name == "rsyslog":
                r = run_rsyslog(work, data, args.lines)
            else:
                r = run_agent(work, data, args.lines, "collector" if name == "chronolog" else "ack")
            results[name].append(r)
            print(f"run {run + 1}: " + show(name, args.lines, r), flush=True)
    print("# medians")
    medians = {}
    for name, runs in results.items():
        medians[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print("median: " + show(name, args.lines, medians[name]))
    if "rsyslog" in medians:
        for name in medians:
            if name != "rsyslog":
                ratio = medians["rsyslog"]["seconds"] / medians[name]["seconds"]
                print(f"ratio: {name} throughput / rsyslog throughput = {ratio:.2f}")
    if args.idle:
        idle = run_idle(args.dir / "run-idle", args.idle)
        print(f"idle agent: cpu={idle['cpu_share'] * 100:.2f}% of a core over {args.idle:.0f} s, "
              f"rss_MB={idle['rss'] / 1e6:.1f}")


if __name__ == "__main__":
    main()
