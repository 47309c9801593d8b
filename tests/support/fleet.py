"""A collector and agents as real processes on loopback, driven through the real CLIs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.processes import BIN, Daemon, free_port, free_udp_port, wait_for

MakeDaemon = Callable[[str, Path, Path], Daemon]


class AgentHandle:
    def __init__(self, daemon: Daemon, log: Path) -> None:
        self.daemon = daemon
        self.log = log

    def write(self, *lines: str) -> None:
        with self.log.open("a") as f:
            f.write("".join(line + "\n" for line in lines))


class Fleet:
    """One collector (started at once) and agents, each tailing its own file, tenant "city"."""

    def __init__(self, root: Path, daemons: MakeDaemon) -> None:
        self.root = root
        self.daemons = daemons
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = root / "collector.toml"
        config.write_text(
            f'[collector]\ndata_dir = "{root / "store"}"\n'
            f'[collector.api]\nlisten = "127.0.0.1:{port}"\n'
            f'[collector.metrics]\nlisten = "127.0.0.1:0"\n'
        )
        self.agent_token = root / "agent.token"
        self.investigator_token = root / "investigator.token"
        for role, path in (("agent", self.agent_token), ("investigator", self.investigator_token)):
            subprocess.run([BIN / "chronolog-collector", "credentials", "-c", config, "issue",
                            "--tenant", "city", "--role", role, "--name", role, "--token-file", path],
                           check=True, capture_output=True)
        self.collector = daemons("chronolog-collector", config, root).start()

    def agent(self, host: str) -> AgentHandle:
        workdir = self.root / host
        workdir.mkdir()
        log = workdir / "app.log"
        log.touch()
        config = workdir / "agent.toml"
        # NTP goes to a closed loopback port: no test sends NTP traffic off this machine.
        config.write_text(
            f'[agent]\nhost = "{host}"\nstate_dir = "{workdir / "state"}"\n'
            f'[agent.collector]\nurl = "{self.url}"\ntoken_file = "{self.agent_token}"\n'
            "retry_initial = 0.05\nretry_max = 0.5\n"
            "[agent.batch]\nmax_delay = 0.2\n"
            '[agent.metrics]\nlisten = "127.0.0.1:0"\n'
            f'[agent.clock]\nservers = ["127.0.0.1:{free_udp_port()}"]\ntimeout = 0.2\n'
            "[agent.journald]\nenabled = false\n"
            f'[[agent.files]]\ninclude = ["{log}"]\nzone = "Asia/Tokyo"\n'
        )
        return AgentHandle(self.daemons("chronolog-agent", config, workdir).start(), log)

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [BIN / "chronolog", "--url", self.url, "--token-file", self.investigator_token, *args],
            capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def query(self, *args: str) -> str:
        return self.cli("query", "--zone", "Asia/Tokyo", *args)

    def streams(self) -> list[dict[str, Any]]:
        rows = []
        for line in self.cli("streams").splitlines():
            agent, stream, lines, last, gaps = line.split("\t")
            rows.append({"agent": agent, "stream": stream, "lines": int(lines.split("=")[1]),
                         "last_seq": int(last.split("=")[1]),
                         "gaps": [] if gaps == "gaps=none" else gaps.split("=")[1].split(", ")})
        return rows

    def stream_lines(self) -> int:
        return sum(s["lines"] for s in self.streams())

    def wait_for_lines(self, n: int) -> None:
        wait_for(lambda: self.stream_lines() >= n, f"{n} lines at the collector", timeout=60)
        assert self.stream_lines() == n
