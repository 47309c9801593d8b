"""The newcomer's path: what `make run` runs shows a freshly written line in the printed
`chronolog query` command (no flags: make run wrote the settings), and Ctrl-C stops everything
cleanly, the agent before the collector."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from support.processes import free_udp_port, processes_mentioning, wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_shows_a_written_line_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    var = tmp_path / "var"
    out = tmp_path / "out.txt"
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}  # where make run writes settings
    with out.open("w") as sink:
        # The NTP server is a closed loopback port: the test sends nothing off this machine.
        # SIGINT starts ignored, as for a command a shell without job control puts in the
        # background (`make run &` in a script): Ctrl-C must work all the same.
        proc = subprocess.Popen(
            [sys.executable, ROOT / "tools" / "run_local.py", "--var", var,
             "--ntp-server", f"127.0.0.1:{free_udp_port()}"],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        banner = wait_for(lambda: re.search(r"^  (\S+chronolog query .*)$", out.read_text(), re.M),
                          "make run to print the query command")
        assert "/metrics" in out.read_text()
        marker = f"hello from the newcomer test {time.time_ns()}"
        with (var / "demo" / "demo.log").open("a") as f:
            f.write(f"{dt.datetime.now(dt.UTC).isoformat()} {marker}\n")
        command = shlex.split(banner.group(1))

        def query_shows_marker() -> bool:
            result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
            return result.returncode == 0 and marker in result.stdout

        wait_for(query_shows_marker, "the written line in the printed query's output", timeout=30)
        # The printed fleet command: this host reporting; exit 3, since no NTP server answers
        # here, so its clock is unknown (and said so).
        fleet = re.search(r"^  (\S+chronolog (?:--url .* )?hosts)$", out.read_text(), re.M)
        assert fleet is not None
        hosts = subprocess.run(shlex.split(fleet.group(1)), cwd=ROOT, env=env, capture_output=True, text=True)
        assert hosts.returncode == 3, hosts.stderr
        [row] = [line for line in hosts.stdout.splitlines() if line.startswith(socket.gethostname() + " ")]
        assert row.split()[1] == "reporting"
        assert f"# {socket.gethostname()}: clock unknown" in hosts.stdout
        assert "no NTP server answered" in out.read_text()  # said plainly, and still running
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the foreground group
        assert proc.wait(timeout=60) == 0
        text = out.read_text()
        assert 0 < text.index("agent stopping") < text.index("collector stopping")
        assert "unreachable at shutdown" not in text
    except BaseException:
        print(f"--- what make run printed ---\n{out.read_text()}")  # shown with the failure
        raise
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the runner, whatever happened
        proc.wait()
    assert processes_mentioning(f"--config {var}") == []
