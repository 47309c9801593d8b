"""A real Prometheus on loopback (Debian package prometheus): scraping chronolog's /metrics and
evaluating the shipped alert rules, every second, with its own data directory and port."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from support.processes import answers_ok, free_port, wait_for

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "chronolog-rules.yml"


class Prometheus:
    def __init__(self, binary: str, workdir: Path, targets: dict[str, str]) -> None:
        """``targets``: job name -> a /metrics URL (http://HOST:PORT/metrics)."""
        workdir.mkdir(parents=True, exist_ok=True)
        scrape = "".join(f"  - job_name: {job}\n    static_configs:\n"
                         f"      - targets: ['{urlsplit(url).netloc}']\n" for job, url in targets.items())
        config = workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                          f"rule_files:\n  - {RULES}\nscrape_configs:\n{scrape}")
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = workdir / "prometheus.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
                 f"--web.listen-address={self.url.removeprefix('http://')}"], stdout=log, stderr=log)
        wait_for(self._ready, "prometheus to be ready")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited {self.proc.returncode}:\n{self.log.read_text()}")
        return answers_ok(f"{self.url}/-/ready")

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
            return json.loads(response.read())["data"]

    def firing(self, alertname: str) -> list[dict[str, str]]:
        """The labels of each firing alert of that name."""
        return [a["labels"] for a in self._get("/api/v1/alerts")["alerts"]
                if a["labels"]["alertname"] == alertname and a["state"] == "firing"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
