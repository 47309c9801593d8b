"""Shipping speed: a file of 256-byte lines, shipped until the last line is acknowledged.

Side by side, in one run, alternating (the same file, read from its start by each):

- ``chronolog``: chronolog-agent tailing the file into a real chronolog-collector (encrypted
  store, fsync on); done when the agent's ledger, as saved in its checkpoint file, says every
  line was acknowledged;
- ``agent->ack``: the same agent into a sink that acknowledges without decoding or storing
  (``bench/sinks.py ack``): the agent's own cost, whatever the collector costs;
- ``rsyslog``: a private rsyslogd (its own config and work directory), imfile -> omfwd over TCP
  to a sink counting lines (``bench/sinks.py tcp``); done when the sink has every line;
- ``syslog-ng``: a private syslog-ng, file() -> network() over TCP (flow control on) to the
  same counting sink;
- ``chronolog+tls`` (only when named in ``--only``): the same as ``chronolog`` over TLS, set
  up as docs/tls.md says (the collector's own CA, the agent pinning it; token auth): what
  encryption in transit costs the agent;
- with ``--baseline BIN``, ``base`` and ``base->ack``: the same two agent runs with the
  ``chronolog-agent`` and ``chronolog-collector`` of another checkout's venv (``BIN`` is its
  ``.venv/bin``), an earlier commit measured beside this one.

The peers get the sink that acknowledges the way they know: TCP (they ship raw lines, no
event time, no provenance, no clock view, nothing committed on acknowledgement); the agent
gets the HTTP one. Sinks run on the other core, so their CPU is not the shipper's.

For each run: lines/s and MB/s (10^6 bytes of log per second, start-up included), the
shipper's CPU seconds (user + system, all threads, start-up included; for the agent also the
part spent starting, ``start_cpu``) and peak RSS (VmHWM), read from /proc when the last line
is acknowledged. Then medians, the ratio of MB per CPU-second and of MB/s to each peer (the
median of the ratios of runs taken side by side; MB per CPU-second also without the agent's
start-up, which a long-running agent pays once), and the idle agent: CPU share and RSS over
IDLE seconds. ``--profile DIR`` samples the agent with py-spy (GIL held) and prints its top
functions.

The agents run as installed: the byte code of each measured checkout is compiled first, as
the package's postinst does (`byte_compile`).

Usage: .venv/bin/python bench/ship.py [--lines N] [--runs R] [--idle S] [--only NAME,...]
    [--profile DIR] [--baseline BIN]

Peers: ``apt-get install rsyslog`` for its column. ``syslog-ng-core`` conflicts with rsyslog
in Debian (both are a system-log-daemon), so without a ``syslog-ng`` on the PATH this bench
runs it from the package unpacked into its work directory (``apt-get download
syslog-ng-core``, ``dpkg-deb -x``), which needs its libraries installed: ``apt-get install
libivykis0 libnet1 libpcre3 libjson-c5 libwrap0 libglib2.0-0``. A peer that cannot run is
left out, and said so.
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


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (the collector's sealers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def collector_usage(pid: int) -> tuple[float, float]:
    """CPU seconds of the collector's own process and of its children (the sealers), live."""
    return proc_usage(pid)[0], sum(proc_usage(c)[0] for c in children(pid))


def wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.02)


def ready_json(path: Path) -> dict[str, Any]:
    wait(path.exists, 60, f"{path}")
    return dict(json.loads(path.read_text()))


PROFILE: Path | None = None  # --profile: py-spy samples of the agent land here
BATCH: tuple[int, int] | None = None  # --agent-batch: the agent's batch and queue bytes
IN_FLIGHT: int | None = None  # --agent-in-flight: this checkout's agent's [agent.batch] in_flight
PROFILE_COLLECTOR = False  # --profile-collector: and of the collector (all threads, sealers)
SHIPPER_CPU: set[int] | None = None  # the core the shipper is pinned to (--pin)
OTHER_CPUS: set[int] | None = None  # where the sinks and the collector run


def start(argv: list[Any], log: Path, cpus: set[int] | None = None,
          env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    with log.open("ab") as out:
        return subprocess.Popen([str(a) for a in argv], stdout=out, stderr=out, preexec_fn=pin,
                                env={**os.environ, **(env or {})})


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def profiler(pid: int, out: Path, gil: bool = True) -> subprocess.Popen[bytes]:
    """py-spy sampling a running process (without pausing it) into ``out``, collapsed stacks
    (merged over runs by `profile_top`); stopped with SIGINT. ``gil``: samples of the thread
    holding the GIL only (the agent); else every thread on a CPU and the child processes too
    (the collector: its WAL writer thread and sealer processes)."""
    spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy (.venv/bin/pip install py-spy)")
    out = out.with_name(f"{out.stem}-{pid}.raw")
    how = ["--gil"] if gil else ["--subprocesses", "--threads"]
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", "250", "--nonblocking", *how,
                             "--format", "raw", "--function", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def profile_top(files: list[Path], top: int = 20) -> str:
    """The functions taking most samples in py-spy's collapsed stacks: self (the function
    itself) and total (with what it calls), as shares of all samples."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            n = int(count)
            frames = [f.rsplit(":", 1)[0] + ")" if ":" in f else f for f in stack.split(";")]
            samples += n
            own[frames[-1]] = own.get(frames[-1], 0) + n
            for f in set(frames):
                total[f] = total.get(f, 0) + n
    out = [f"{samples} samples"]
    for title, table in (("self", own), ("total", total)):
        out.append(f"top {top} by {title}:")
        for name, n in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            out.append(f"  {100 * n / max(samples, 1):5.1f}%  {name}")
    return "\n".join(out)


def collector_tls(bin_dir: Path, cconf: Path, out: Path) -> Path:
    """TLS on the collector's API the way docs/tls.md sets it up (its own CA, a certificate
    for 127.0.0.1); returns the CA certificate for the agent to pin."""
    collector = bin_dir / "chronolog-collector"
    subprocess.run([collector, "ca", "-c", cconf, "init"], check=True, capture_output=True)
    subprocess.run([collector, "ca", "-c", cconf, "server-cert", "--name", "127.0.0.1", "--out", out],
                   check=True, capture_output=True)
    with cconf.open("a") as f:
        f.write(f'[collector.tls]\ncert_file = "{out / "collector.crt"}"\n'
                f'key_file = "{out / "collector.key"}"\n')
    return cconf.parent / "store" / "ca" / "ca.crt"


def agent_config(work: Path, url: str, token: Path, log: Path, in_flight: int | None = None,
                 ca_file: Path | None = None) -> Path:
    config = work / "agent.toml"
    batch = [f"max_bytes = {BATCH[0]}\nqueue_bytes = {BATCH[1]}\n"] if BATCH else []
    batch += [f"in_flight = {in_flight}\n"] if in_flight is not None else []
    pinned = f'ca_file = "{ca_file}"\n' if ca_file is not None else ""
    config.write_text(
        f'[agent]\nhost = "bench"\nstate_dir = "{work / "agent-state"}"\nlog_level = "warning"\n'
        f'[agent.collector]\nurl = "{url}"\ntoken_file = "{token}"\n{pinned}'
        '[agent.metrics]\nlisten = "127.0.0.1:0"\n'
        '[agent.clock]\nservers = ["127.0.0.1:9"]\ntimeout = 0.2\ninterval = 3600\n'
        "[agent.journald]\nenabled = false\n"
        + ("[agent.batch]\n" + "".join(batch) if batch else "")
        + f'[[agent.files]]\ninclude = ["{log}"]\nzone = "Asia/Tokyo"\n'
    )
    return config


def acked(state_dir: Path) -> int:
    """Lines of files the agent's checkpoint says were acknowledged: read from its file, not
    asked over /status, which costs the agent 0.65 ms of CPU an answer (asked every 0.02 s,
    that was 7 % of its CPU in a run)."""
    try:
        doc = json.loads((state_dir / "checkpoints.json").read_bytes())
    except FileNotFoundError:
        return 0
    return sum(c["acked"] for stream, c in doc.get("ledger", {}).items() if stream.startswith("file:"))


def run_agent(work: Path, data: Path, n: int, sink: str, bin_dir: Path = BIN) -> dict[str, float]:
    """chronolog-agent (from ``bin_dir``) shipping ``data`` to a real collector or to the ack
    sink."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    extra: list[subprocess.Popen[bytes]] = []
    token = work / "agent.token"
    collector: int | None = None
    ca_file: Path | None = None
    spies: list[subprocess.Popen[bytes]] = []
    try:
        if sink in ("collector", "collector-tls"):
            cconf = work / "collector.toml"
            cconf.write_text(f'[collector]\ndata_dir = "{work / "store"}"\nlog_level = "warning"\n'
                             '[collector.api]\nlisten = "127.0.0.1:0"\n'
                             '[collector.metrics]\nenabled = false\n[collector.fleet.clock]\nservers = []\n'
                             f'[collector.keys]\nmaster_key_file = "{work / "master.key"}"\n')
            subprocess.run([bin_dir / "chronolog-collector", "keys", "-c", cconf, "init"],
                           check=True, capture_output=True)
            if sink == "collector-tls":
                ca_file = collector_tls(bin_dir, cconf, work / "tls")
            subprocess.run([bin_dir / "chronolog-collector", "credentials", "-c", cconf, "issue", "--tenant",
                            "bench", "--role", "agent", "--name", "a", "--token-file", token],
                           check=True, capture_output=True)
            extra.append(start([bin_dir / "chronolog-collector", "run", "-c", cconf, "--ready-file",
                                work / "c.ready"], work / "collector.log", OTHER_CPUS))
            url = ready_json(work / "c.ready")["api"]
            collector = extra[-1].pid
        else:
            token.write_text("bench-token\n")
            extra.append(start([sys.executable, HERE / "sinks.py", "ack", work / "sink.ready"],
                               work / "sink.log", OTHER_CPUS))
            wait(lambda: (work / "sink.ready").exists() and (work / "sink.ready").read_text() != "", 30,
                 "the sink")
            url = f"http://127.0.0.1:{(work / 'sink.ready').read_text()}"
        config = agent_config(work, url, token, data, IN_FLIGHT if bin_dir == BIN else None, ca_file)
        began = time.monotonic()
        agent = start([bin_dir / "chronolog-agent", "run", "-c", config, "--ready-file", work / "a.ready"],
                      work / "agent.log", SHIPPER_CPU)
        try:
            ready_json(work / "a.ready")
            start_cpu, _ = proc_usage(agent.pid)
            before = collector_usage(collector) if collector is not None else (0.0, 0.0)
            if PROFILE is not None:
                prefix = "" if bin_dir == BIN else "base-"
                spies.append(profiler(agent.pid, PROFILE / f"{prefix}{sink}.raw"))
                if collector is not None and PROFILE_COLLECTOR:
                    spies.append(profiler(collector, PROFILE / f"{prefix}in-collector.raw", gil=False))
            wait(lambda: acked(work / "agent-state") >= n, 3600, "every line acknowledged")
            elapsed = time.monotonic() - began
            cpu, hwm = proc_usage(agent.pid)
            after = collector_usage(collector) if collector is not None else (0.0, 0.0)
            sealed: dict[str, float] = {}
            if collector is not None and bin_dir == BIN:
                # Sealing trails ingest (sealers run at a lower priority): how long until every
                # closed WAL file is sealed (the one being written stays), and what it cost.
                # (A baseline's collector may seal otherwise, or only later: not waited for.)
                wait(lambda: len(list((work / "store").glob("tenants/*/wal/wal-*.log"))) <= 1, 600,
                     "the WAL to be sealed")
                sealed["sealed_after"] = time.monotonic() - began - elapsed
                sealed["sealed_cpu"] = collector_usage(collector)[1] - before[1]
        finally:
            for spy in spies:
                spy.send_signal(signal.SIGINT)
                spy.wait()
            stop(agent)
    finally:
        for p in extra:
            stop(p)
    result = {"seconds": elapsed, "cpu": cpu, "rss": hwm, "start_cpu": start_cpu}
    if collector is not None:
        # From the agent's start to its last acknowledgement; the sealers may still be busy.
        result["collector_cpu"] = after[0] - before[0]
        result["sealer_cpu"] = after[1] - before[1]
        result.update(sealed)
    return result


RSYSLOG_CONF = """\
global(workDirectory="{work}")
module(load="imfile" mode="inotify")
template(name="raw" type="string" string="%msg%\\n")
ruleset(name="ship") {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" template="raw")
}}
input(type="imfile" file="{data}" tag="bench" freshStartTail="off" ruleset="ship")
"""

SYSLOG_NG_CONF = """\
@version: {version}
options {{ stats-freq(0); }};
source s_file {{ file("{data}" flags(no-parse)); }};
destination d_sink {{ network("127.0.0.1" port({port}) transport("tcp") template("${{MSG}}\\n")); }};
log {{ source(s_file); destination(d_sink); flags(flow-control); }};
source s_self {{ internal(); }};
destination d_self {{ file("{work}/internal.log"); }};
log {{ source(s_self); destination(d_self); }};
"""


def syslog_ng(cache: Path) -> tuple[list[str], dict[str, str]] | None:
    """How to start syslog-ng: the one installed, or the Debian package unpacked into
    ``cache`` (it conflicts with rsyslog); None, said why, when neither can run."""
    installed = shutil.which("syslog-ng")
    if installed is not None:
        return [installed], {}
    root = cache / "syslog-ng-root"
    exe = root / "usr/sbin/syslog-ng"
    if not exe.exists():
        cache.mkdir(parents=True, exist_ok=True)
        got = subprocess.run(["apt-get", "download", "syslog-ng-core"], cwd=cache, capture_output=True,
                             text=True)
        debs = sorted(cache.glob("syslog-ng-core_*.deb"))
        if not debs:
            print(f"# syslog-ng left out: apt-get download syslog-ng-core failed: {got.stderr.strip()}",
                  file=sys.stderr)
            return None
        subprocess.run(["dpkg-deb", "-x", debs[-1], root], check=True)
    modules = sorted((root / "usr/lib/syslog-ng").glob("3.*"))
    env = {"LD_LIBRARY_PATH": str(root / "usr/lib/syslog-ng")}
    argv = [str(exe), *(["--module-path", str(modules[-1])] if modules else [])]
    check = subprocess.run([*argv, "--version"], env={**os.environ, **env}, capture_output=True, text=True)
    if check.returncode != 0:
        print("# syslog-ng left out: it does not start (apt-get install libivykis0 libnet1 libpcre3 "
              f"libjson-c5 libwrap0 libglib2.0-0): {check.stderr.strip()[:200]}", file=sys.stderr)
        return None
    return argv, env


def syslog_ng_version(argv: list[str], env: dict[str, str]) -> str:
    """The version its config must declare: the binary's own (3.38), not its config version."""
    out = subprocess.run([*argv, "--version"], env={**os.environ, **env}, capture_output=True,
                         text=True).stdout
    installer = next((line.split(":")[1].strip() for line in out.splitlines()
                      if line.startswith("Installer-Version")), "3.38")
    return ".".join(installer.split(".")[:2])


SYSLOG_NG: tuple[list[str], dict[str, str]] | None = None  # set in main when wanted


def byte_compile(bin_dir: Path) -> None:
    """Compile the byte code of the chronolog checkout that ``bin_dir``'s python runs, as the
    Debian package's postinst does: measured as installed, an agent does not compile its own
    modules at every start (with PYTHONDONTWRITEBYTECODE set, a checkout's agent does, and that
    was a third of its start-up CPU)."""
    python = bin_dir / "python"
    # -I: its own checkout, not one in the current directory.
    where = subprocess.run([python, "-I", "-c", "import agent, chronolog, collector\n"
                            "for m in (agent, chronolog, collector): print(m.__path__[0])"],
                           check=True, capture_output=True, text=True).stdout.split()
    subprocess.run([python, "-I", "-m", "compileall", "-q", *where], check=True, stdout=subprocess.DEVNULL)


def run_peer(work: Path, data: Path, n: int, peer: str) -> dict[str, float]:
    """rsyslog or syslog-ng shipping ``data`` over TCP to the counting sink."""
    shutil.rmtree(work, ignore_errors=True)
    (work / "spool").mkdir(parents=True)
    sink = start([sys.executable, HERE / "sinks.py", "tcp", n, work / "sink.ready"], work / "sink.log",
                 OTHER_CPUS)
    try:
        wait(lambda: (work / "sink.ready").exists() and (work / "sink.ready").read_text() != "", 30, "sink")
        port = (work / "sink.ready").read_text()
        conf = work / f"{peer}.conf"
        env: dict[str, str] = {}
        if peer == "rsyslog":
            conf.write_text(RSYSLOG_CONF.format(work=work / "spool", port=port, data=data))
            argv: list[Any] = ["rsyslogd", "-n", "-f", conf, "-i", work / "rsyslogd.pid"]
        else:
            assert SYSLOG_NG is not None
            exe, env = SYSLOG_NG
            conf.write_text(SYSLOG_NG_CONF.format(version=syslog_ng_version(exe, env), data=data,
                                                  port=port, work=work))
            argv = [*exe, "-F", "--no-caps", "-f", conf, "-p", work / "syslog-ng.pid",
                    "-R", work / "syslog-ng.persist", "-c", work / "syslog-ng.ctl"]
        began = time.monotonic()
        shipper = start(argv, work / f"{peer}.log", SHIPPER_CPU, env)
        try:
            wait(lambda: Path(str(work / "sink.ready") + ".done").exists(), 3600, f"{peer} to deliver")
            elapsed = time.monotonic() - began
            cpu, hwm = proc_usage(shipper.pid)
        finally:
            stop(shipper)
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


PEERS = ("rsyslog", "syslog-ng")
SINKS = {"chronolog": "collector", "chronolog+tls": "collector-tls", "base": "collector"}  # others: ack


def show(name: str, n: int, r: dict[str, float]) -> str:
    mb = n * LINE / 1e6
    started = f"  start_cpu_s={r['start_cpu']:5.2f}" if "start_cpu" in r else ""
    if "collector_cpu" in r:
        per_mb = 1000 * r["collector_cpu"] / mb
        started += (f"  collector_cpu_s={r['collector_cpu']:5.2f} ({per_mb:4.1f} ms/MB)"
                    f"  sealers_cpu_s={r['sealer_cpu']:5.2f}")
    if "sealed_after" in r:
        started += (f"  all_sealed_after_s={r['sealed_after']:5.2f}"
                    f" (sealers_cpu_s then {r['sealed_cpu']:5.2f})")
    return (f"{name:11s} lines/s={n / r['seconds']:10,.0f}  MB/s={mb / r['seconds']:6.1f}  "
            f"seconds={r['seconds']:6.2f}  cpu_s={r['cpu']:6.2f}  MB_per_cpu_s={mb / r['cpu']:6.1f}  "
            f"peak_rss_MB={r['rss'] / 1e6:6.1f}{started}")


def ratios(results: dict[str, list[dict[str, float]]]) -> list[str]:
    """Each shipper against each peer and the agent into the collector against the agent into
    the sink: the median of the runs' ratios (run i of one beside run i of the other)."""
    pairs = [(name, peer) for name in results for peer in PEERS if peer in results and name not in PEERS]
    for name, other in (("chronolog", "agent->ack"), ("base", "base->ack"), ("agent->ack", "base->ack"),
                        ("chronolog", "base"), ("chronolog+tls", "chronolog"),
                        ("chronolog+tls", "agent->ack")):
        if name in results and other in results:
            pairs.append((name, other))
    out = []
    for name, other in pairs:
        side_by_side = list(zip(results[name], results[other], strict=True))
        per_cpu = statistics.median(o["cpu"] / r["cpu"] for r, o in side_by_side)
        speed = statistics.median(o["seconds"] / r["seconds"] for r, o in side_by_side)
        # A long-running agent pays its start-up once: the same ratio with it left out.
        running = statistics.median((o["cpu"] - o.get("start_cpu", 0)) / (r["cpu"] - r.get("start_cpu", 0))
                                    for r, o in side_by_side)
        out.append(f"ratio: {name} / {other}: MB per CPU-second {per_cpu:.2f}x "
                   f"({running:.2f}x without the agent's start-up), MB/s {speed:.2f}x")
    return out


SHIPPERS = ("chronolog", "chronolog+tls", "agent->ack", *PEERS)  # base, base->ack: --baseline


def shippers(value: str) -> list[str]:
    names = value.split(",")
    unknown = [name for name in names if name not in SHIPPERS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown shipper {unknown[0]!r}; expected some of "
                                         + ", ".join(SHIPPERS))
    return names


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--idle", type=float, default=20.0, help="seconds of idle measurement (0: skip)")
    p.add_argument("--only", type=shippers, default="chronolog,agent->ack,rsyslog,syslog-ng",
                   help=f"which to run, comma-separated, of: {', '.join(SHIPPERS)}")
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "chronolog-bench-ship")
    p.add_argument("--profile", type=Path, default=None,
                   help="directory for py-spy samples of the agent; prints the top functions")
    p.add_argument("--profile-collector", action="store_true",
                   help="with --profile, also sample the collector (every thread, and its sealers)")
    p.add_argument("--agent-batch", default=None, metavar="MAX_BYTES,QUEUE_BYTES",
                   help="the agent's [agent.batch] max_bytes and queue_bytes (default: the agent's defaults)")
    p.add_argument("--agent-in-flight", type=int, default=None, metavar="N",
                   help="this checkout's agent's [agent.batch] in_flight (default: the agent's default)")
    p.add_argument("--baseline", type=Path, default=None,
                   help="another checkout's .venv/bin: its agent runs beside this one (base, base->ack)")
    p.add_argument("--no-pin", action="store_true",
                   help="do not pin the shipper to one core and the receivers to the others")
    return p


def main() -> None:
    args = build_parser().parse_args()
    global SHIPPER_CPU, OTHER_CPUS, PROFILE, PROFILE_COLLECTOR, SYSLOG_NG, BATCH, IN_FLIGHT
    PROFILE_COLLECTOR = args.profile_collector
    IN_FLIGHT = args.agent_in_flight
    if args.agent_batch:
        max_bytes, queue_bytes = (int(v) for v in args.agent_batch.split(","))
        BATCH = (max_bytes, queue_bytes)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        PROFILE = args.profile
    cpus = sorted(os.sched_getaffinity(0))
    if not args.no_pin and len(cpus) >= 2:
        SHIPPER_CPU, OTHER_CPUS = {cpus[0]}, set(cpus[1:])
        print(f"# shipper pinned to cpu {cpus[0]}; receivers on {cpus[1:]}")
    args.dir.mkdir(parents=True, exist_ok=True)
    data = args.dir / f"lines-{args.lines}.log"
    generate(data, args.lines)
    subprocess.run(["cat", str(data)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    wanted = args.only
    if args.baseline is not None:
        wanted += [name for name in ("base", "base->ack") if name not in wanted]
    if "rsyslog" in wanted and shutil.which("rsyslogd") is None:
        print("# rsyslog left out: rsyslogd not found (apt-get install rsyslog)", file=sys.stderr)
        wanted.remove("rsyslog")
    if "syslog-ng" in wanted:
        SYSLOG_NG = syslog_ng(args.dir)
        if SYSLOG_NG is None:
            wanted.remove("syslog-ng")
    for bin_dir in {BIN, *([args.baseline] if args.baseline is not None else [])}:
        byte_compile(bin_dir)
    mb = args.lines * LINE / 1e6
    print(f"# {args.lines} lines x {LINE} B = {mb:.0f} MB; {args.runs} runs, alternating")
    results: dict[str, list[dict[str, float]]] = {name: [] for name in wanted}
    for run in range(args.runs):
        for name in wanted:
            work = args.dir / f"run-{name.replace('->', '-')}"
            if name in PEERS:
                r = run_peer(work, data, args.lines, name)
            else:
                sink = SINKS.get(name, "ack")
                r = run_agent(work, data, args.lines, sink, args.baseline if name.startswith("base") else BIN)
            results[name].append(r)
            print(f"run {run + 1}: " + show(name, args.lines, r), flush=True)
    print("# medians")
    for name, runs in results.items():
        median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print("median: " + show(name, args.lines, median))
    for line in ratios(results):
        print(line)
    if PROFILE is not None:
        for prefix in ("", "base-"):
            for sink in ("ack", *sorted(set(SINKS.values()))):
                files = sorted(PROFILE.glob(f"{prefix}{sink}-*.raw"))
                if files:
                    print(f"# profile of the {prefix}agent into {sink}: " + profile_top(files))
            files = sorted(PROFILE.glob(f"{prefix}in-collector-*.raw"))
            if files:
                print(f"# profile of the {prefix}collector (every thread on a CPU, sealers): "
                      + profile_top(files, 30))
    if args.idle:
        idle = run_idle(args.dir / "run-idle", args.idle)
        print(f"idle agent: cpu={idle['cpu_share'] * 100:.2f}% of a core over {args.idle:.0f} s, "
              f"rss_MB={idle['rss'] / 1e6:.1f}")


if __name__ == "__main__":
    main()
