"""`make run`: the main job on this one machine, with the embedded defaults.

Starts a collector with its store in ./var and an agent that tails /var/log/*.log (whatever
is readable), journald where it runs, and a demo log written here every second. Writes the
`chronolog` command's settings (~/.config/chronolog/client.toml: this collector and an
investigator token), unless the user has a settings file of their own. Prints where the
metrics are and a `chronolog query` command to paste. Ctrl-C stops the agent first (it ships
what it holds), then the collector.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from chronolog.cli.settings import config_path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
READY_TIMEOUT = 30.0
VAR = ROOT / "var"
CONFIG = VAR / "chronolog.toml"
NTP_SERVERS: list[str] | None = None  # None: the embedded default


# The first line of the client settings make run writes: while it is there, they are ours.
MARK = "# Written by `make run` (tools/run_local.py)"


def free_or_any(port: int) -> int:
    """``port`` if it is free on loopback, else some other free port (a concrete number: the
    agent must be told where the collector is). SO_REUSEADDR as the daemons bind: connections
    of an earlier run in TIME-WAIT do not make the port look taken."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config() -> None:
    api = free_or_any(8470)
    CONFIG.write_text(f"""\
# Written by `make run` (tools/run_local.py) on every start; edit config.example.toml's copy
# instead. Only paths and ports differ from the embedded defaults.

[collector]
data_dir = "{VAR / 'collector'}"

[collector.keys]
master_key_file = "{VAR / 'master.key'}"

[collector.api]
listen = "127.0.0.1:{api}"

[collector.metrics]
listen = "127.0.0.1:{free_or_any(9470)}"

[agent]
state_dir = "{VAR / 'agent'}"

[agent.collector]
url = "http://127.0.0.1:{api}"
token_file = "{VAR / 'agent.token'}"

[agent.metrics]
listen = "127.0.0.1:{free_or_any(9471)}"
{ntp_table()}
[[agent.files]]
include = ["/var/log/*.log"]

[[agent.files]]
include = ["{VAR / 'demo' / '*.log'}"]
zone = "Asia/Tokyo"
""")


def ntp_table() -> str:
    if NTP_SERVERS is None:
        return ""
    servers = ", ".join(f'"{s}"' for s in NTP_SERVERS)
    return (f"\n[agent.clock]\nservers = [{servers}]\ntimeout = 0.5\n"
            f"\n[collector.fleet.clock]\nservers = [{servers}]\ntimeout = 0.5\n")


def issue_token(role: str, name: str, path: Path) -> None:
    if path.exists():
        return
    subprocess.run(
        [BIN / "chronolog-collector", "credentials", "--config", CONFIG, "issue",
         "--tenant", "local", "--role", role, "--name", name, "--token-file", path],
        check=True,
    )


def _terminate_with_parent() -> None:
    PR_SET_PDEATHSIG = 1  # prctl(2)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def start(name: str, args: list[str | Path]) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    ready = VAR / f"{name}.ready"
    ready.unlink(missing_ok=True)
    # A process group of its own: Ctrl-C reaches only this script, which stops the daemons in
    # order (the agent must still find the collector to ship its last batch). Should this
    # script die without stopping them, they get SIGTERM from the kernel.
    proc = subprocess.Popen([BIN / name, "run", "--config", CONFIG, "--ready-file", ready, *args],
                            process_group=0, preexec_fn=_terminate_with_parent)
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready.exists():
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with status {proc.returncode}; see its messages above")
        if time.monotonic() > deadline:
            proc.terminate()
            raise SystemExit(f"{name} did not become ready within {READY_TIMEOUT:.0f} s")
        time.sleep(0.1)
    return proc, json.loads(ready.read_text())


def write_client_settings(api: str) -> bool:
    """Point `chronolog` at this collector with the investigator token, unless the user keeps
    settings of their own there. True if the settings are ours."""
    path, named = config_path()
    if named or (path.exists() and not path.read_text().startswith(MARK)):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""{MARK} for the collector of {VAR};
# while this first line is here, every `make run` rewrites the file.
[client]
url = "{api}"
token_file = "{VAR / 'investigator.token'}"
""")
    return True


def demo_writer(stop: threading.Event) -> None:
    """A line a second, in the shapes real logs come in: with an offset, without one, none."""
    path = VAR / "demo" / "demo.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    while not stop.wait(1.0):
        now = dt.datetime.now(dt.UTC)
        local = now.astimezone(dt.timezone(dt.timedelta(hours=9)))
        shapes = [
            f"{now.isoformat(timespec='milliseconds')} demo[{os.getpid()}]: request id={n} status=200",
            f"{local.strftime('%Y-%m-%d %H:%M:%S,%f')[:-3]} INFO demo.worker - job {n} done",
            f"demo heartbeat {n} (no timestamp in this line)",
        ]
        with path.open("a") as f:
            f.write(shapes[n % len(shapes)] + "\n")
        n += 1


def main() -> int:
    global VAR, CONFIG, NTP_SERVERS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var", type=Path, default=VAR, help="state directory (default ./var)")
    parser.add_argument("--ntp-server", action="append",
                        help="NTP server instead of the embedded default (repeatable)")
    args = parser.parse_args()
    # Each stops everything in order, as Ctrl-C does. SIGINT is set too: a shell without job
    # control starts background commands with it ignored, and Python would keep ignoring it.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    VAR, NTP_SERVERS = args.var.resolve(), args.ntp_server
    CONFIG = VAR / "chronolog.toml"
    VAR.mkdir(exist_ok=True)
    write_config()
    if not (VAR / "master.key").exists():
        subprocess.run([BIN / "chronolog-collector", "keys", "--config", CONFIG, "init"], check=True)
    issue_token("agent", socket.gethostname(), VAR / "agent.token")
    issue_token("investigator", "make-run", VAR / "investigator.token")
    procs: list[subprocess.Popen[bytes]] = []
    stop = threading.Event()
    try:
        collector, c_info = start("chronolog-collector", [])
        procs.append(collector)
        agent, a_info = start("chronolog-agent", [])
        procs.append(agent)
        threading.Thread(target=demo_writer, args=(stop,), daemon=True).start()
        rel = os.path.relpath
        if write_client_settings(c_info["api"]):
            url = token = ""
            settings = f"  (`chronolog` finds this collector through {config_path()[0]})\n"
        else:
            url = f"--url {c_info['api']} "
            token = f"--token-file {rel(VAR / 'investigator.token')} "
            settings = f"  ({config_path()[0]} is yours: left as it is)\n"
        query = f"{rel(BIN / 'chronolog')} {url}{token}query --since 10m"
        print(f"""
chronolog is running (Ctrl-C stops it).
  collector API      {c_info['api']}
  collector metrics  {c_info.get('metrics')}
  agent metrics      {a_info.get('metrics')}
  demo log           {rel(VAR / 'demo' / 'demo.log')}  (a line a second)

See your logs, as one timeline in Asia/Tokyo:
  {query}
{settings}
See the fleet (each host's state, lag, clock and the collector's cross-check of it):
  {rel(BIN / 'chronolog')} {url}{token}hosts

Administer it (password and TOTP code; docs/security.md):
  {rel(BIN / 'chronolog-collector')} admins add $USER --config {rel(CONFIG)}
  {rel(BIN / 'chronolog')} {url}admin login

Investigate in a browser (docs/console.md): logged in as above, make yourself an investigator
of this tenant, then sign in at {c_info['api']}/console/ with its password and TOTP code:
  {rel(BIN / 'chronolog')} {url}admin investigators add $USER --tenant local
""", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("a chronolog process exited; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping ...", file=sys.stderr)
        return 0
    finally:
        stop.set()
        for proc in reversed(procs):  # the agent first, so it can ship what it holds
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
