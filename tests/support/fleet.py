"""A collector and agents as real processes on loopback, driven through the real CLIs."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.admins import PASSWORD, Authenticator, enrol
from support.pki import make_ca, server_cert
from support.processes import BIN, Daemon, free_port, free_udp_port, wait_for

MakeDaemon = Callable[[str, Path, Path], Daemon]


class AgentHandle:
    def __init__(self, daemon: Daemon, log: Path) -> None:
        self.daemon = daemon
        self.log = log

    def write(self, *lines: str) -> None:
        with self.log.open("a") as f:
            f.write("".join(line + "\n" for line in lines))

    def metric(self, name: str) -> float:
        """The sum of a metric's samples on the agent's /metrics endpoint."""
        with urllib.request.urlopen(self.daemon.info["metrics"], timeout=10) as response:
            text = response.read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(name) and not line.startswith("#"))

    def status(self) -> dict[str, Any]:
        """The agent's ``/status`` document."""
        with urllib.request.urlopen(self.daemon.info["status"], timeout=10) as response:
            doc: dict[str, Any] = json.loads(response.read())
        return doc

    def ledger(self, stream: str) -> dict[str, Any]:
        for entry in self.status()["streams"]:
            if entry["stream"] == stream:
                return dict(entry)
        return {"read": 0, "truncated": 0, "spooled": 0, "acked": 0, "dropped": {}}


class Fleet:
    """One collector (started at once) and agents, each tailing its own file, tenant "city";
    an administrator "root" of every tenant, enrolled and logged in (password and TOTP) when
    first needed. ``extra_config`` is appended to its configuration; ``fleet_config`` replaces
    its ``[collector.fleet...]`` tables (by default: no NTP server for its own clock, so no test
    sends NTP traffic off this machine).

    With ``tls`` the collector serves https with a certificate from a private CA made here
    (and accepts client certificates from it); agents and the CLI pin that CA.
    """

    def __init__(self, root: Path, daemons: MakeDaemon, tls: bool = False,
                 server_names: tuple[str, ...] = ("localhost", "127.0.0.1"), extra_config: str = "",
                 fleet_config: str = "[collector.fleet.clock]\nservers = []\n",
                 max_results: int = 1_000_000) -> None:
        self.root = root
        self.daemons = daemons
        self.tls = tls
        port = free_port()
        # https names the host its certificate names; plain http stays on 127.0.0.1.
        self.url = f"https://localhost:{port}" if tls else f"http://127.0.0.1:{port}"
        self.config = config = root / "collector.toml"
        text = (
            f'[collector]\ndata_dir = "{root / "store"}"\n'
            f'[collector.api]\nlisten = "127.0.0.1:{port}"\n'
            f'[collector.metrics]\nlisten = "127.0.0.1:0"\n'
            f"[collector.query]\nmax_results = {max_results}\n"
            f'[collector.keys]\nmaster_key_file = "{root / "master.key"}"\n{fleet_config}{extra_config}'
        )
        if tls:
            self.ca = make_ca(root / "store" / "ca")
            cert, key = server_cert(self.ca, root, list(server_names))
            text += (f'[collector.tls]\ncert_file = "{cert}"\nkey_file = "{key}"\n'
                     f'client_ca_file = "{self.ca.cert_file}"\n')
        config.write_text(text)
        subprocess.run([BIN / "chronolog-collector", "keys", "-c", config, "init"], check=True,
                       capture_output=True)
        self.agent_token = root / "agent.token"
        self.investigator_token = root / "investigator.token"
        self.session_file = root / "admin.session"
        self.authenticator: Authenticator | None = None
        for role, path, tenant in (("agent", self.agent_token, "city"),
                                   ("investigator", self.investigator_token, "city")):
            subprocess.run([BIN / "chronolog-collector", "credentials", "-c", config, "issue",
                            "--tenant", tenant, "--role", role, "--name", role, "--token-file", path],
                           check=True, capture_output=True)
        self.collector = daemons("chronolog-collector", config, root).start()

    def _issue(self, name: str, tenant: str, role: str, *where: str | Path) -> None:
        subprocess.run([BIN / "chronolog-collector", "credentials", "-c", self.config, "issue",
                        "--tenant", tenant, "--role", role, "--name", name, *where],
                       check=True, capture_output=True)

    def issue_certificate(self, name: str, tenant: str = "city", role: str = "agent") -> Path:
        """A client certificate credential; returns the directory with NAME.crt/.key."""
        out = self.root / f"cert-{name}"
        self._issue(name, tenant, role, "--cert-dir", out)
        return out

    def issue_token(self, name: str, tenant: str = "city", role: str = "agent") -> Path:
        """A bearer token credential (the local bootstrap); returns its file."""
        path = self.root / f"{name}.{role}.token"
        self._issue(name, tenant, role, "--token-file", path)
        return path

    def agent(self, host: str, cert_dir: Path | None = None, ca_file: Path | None = None,
              url: str | None = None, start: bool = True, clock: str | None = None,
              env: dict[str, str] | None = None, extra: str = "", files: str | None = None,
              batch_max_bytes: int = 1 << 20, record_config: bool = False) -> AgentHandle:
        """An agent tailing its own app.log (or the ``[[agent.files]]`` tables given as
        ``files``); with ``cert_dir`` it uses mutual TLS. ``clock`` replaces its
        ``[agent.clock]`` tables (by default: NTP to a closed loopback port, no daemon read, no
        clock stream, no heartbeat); ``extra`` TOML tables are appended; ``env`` is added to its
        environment. The ``config`` stream is off unless ``record_config`` (tests count lines
        exactly)."""
        workdir = self.root / host
        workdir.mkdir()
        log = workdir / "app.log"
        log.touch()
        if files is None:
            files = f'[[agent.files]]\ninclude = ["{log}"]\nzone = "Asia/Tokyo"\n'
        config = workdir / "agent.toml"
        link = f'url = "{url or self.url}"\ntoken_file = "{self.agent_token}"\n'
        if self.tls:
            link += f'ca_file = "{ca_file or self.ca.cert_file}"\n'
        if cert_dir is not None:
            link += f'cert_file = "{cert_dir / (cert_dir.name.removeprefix("cert-") + ".crt")}"\n'
            link += f'key_file = "{cert_dir / (cert_dir.name.removeprefix("cert-") + ".key")}"\n'
        # NTP goes to a closed loopback port: no test sends NTP traffic off this machine.
        config.write_text(
            f'[agent]\nhost = "{host}"\nstate_dir = "{workdir / "state"}"\n'
            f"record_config = {'true' if record_config else 'false'}\n"
            f"[agent.collector]\n{link}"
            "retry_initial = 0.05\nretry_max = 0.5\n"
            f"[agent.batch]\nmax_delay = 0.2\nmax_bytes = {batch_max_bytes}\n"
            '[agent.metrics]\nlisten = "127.0.0.1:0"\n'
            + (clock or f'[agent.clock]\nservers = ["127.0.0.1:{free_udp_port()}"]\ntimeout = 0.2\n'
                        'burst = 1\ninterval = 16\nrecord = false\nheartbeat = 0\n'
                        '[agent.clock.daemon]\nread = "none"\n')
            + "[agent.journald]\nenabled = false\n"
            + files + extra
        )
        daemon = self.daemons("chronolog-agent", config, workdir)
        return AgentHandle(daemon.start(env) if start else daemon, log)

    def cli(self, *args: str) -> str:
        tls = ["--ca-file", str(self.ca.cert_file)] if self.tls else []
        result = subprocess.run(
            [BIN / "chronolog", "--url", self.url, *tls, "--token-file", self.investigator_token, *args],
            capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def chronolog(self, *args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """``chronolog --url URL [--ca-file CA] ARGS`` (any exit status)."""
        tls = ["--ca-file", str(self.ca.cert_file)] if self.tls else []
        return subprocess.run([BIN / "chronolog", "--url", self.url, *tls, *args], input=stdin,
                              capture_output=True, text=True)

    def login(self) -> None:
        """``chronolog admin login`` as root (enrolled on first use), keeping the session."""
        if self.authenticator is None:
            self.authenticator = enrol(self.config, "root")
        result = self.chronolog("--session-file", self.session_file, "admin", "login", "--user", "root",
                                "--password-stdin", "--totp", self.authenticator.code(),
                                stdin=PASSWORD + "\n")
        assert result.returncode == 0, result.stderr

    def admin(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """``chronolog admin ARGS`` in root's session (any exit status). A session the
        collector forgot (it restarted) is renewed by logging in again."""
        if self.authenticator is None:
            self.login()
        result = self.chronolog("--session-file", self.session_file, "admin", *args)
        if result.returncode != 0 and "log in again" in result.stderr:
            self.login()
            result = self.chronolog("--session-file", self.session_file, "admin", *args)
        return result

    def local(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """``chronolog-collector COMMAND -c CONFIG ARGS`` on the data directory (any exit status)."""
        command, *rest = args
        return subprocess.run([BIN / "chronolog-collector", command, "-c", self.config, *rest],
                              capture_output=True, text=True)

    def query(self, *args: str) -> str:
        return self.cli("query", "--zone", "Asia/Tokyo", *args)

    def streams(self) -> list[dict[str, Any]]:
        rows = []
        for line in self.cli("streams").splitlines():
            host, agent, stream, lines, last, gaps, seen = line.split("\t")
            rows.append({"host": host, "agent": agent, "stream": stream, "lines": int(lines.split("=")[1]),
                         "last_seq": int(last.split("=")[1]),
                         "gaps": [] if gaps == "gaps=none" else gaps.split("=")[1].split(", "),
                         "last_seen": seen.split("=", 1)[1]})
        return rows

    def records(self, *args: str) -> list[dict[str, Any]]:
        """Every record the collector holds, whatever its event time."""
        out = self.cli("query", "--zone", "Asia/Tokyo", "--since", "2000-01-01T00:00:00Z",
                       "--until", "2100-01-01T00:00:00Z", "--limit", "1000000", "--json", *args)
        return [json.loads(line) for line in out.splitlines()]

    def messages(self, *args: str) -> list[str]:
        return [r["msg"] for r in self.records(*args)]

    def stream_lines(self) -> int:
        return sum(s["lines"] for s in self.streams())

    def wait_for_lines(self, n: int) -> None:
        wait_for(lambda: self.stream_lines() >= n, f"{n} lines at the collector", timeout=60)
        assert self.stream_lines() == n
