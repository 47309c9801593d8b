"""The agent's configuration: the ``[agent]`` table, composed of each stage's model."""

from __future__ import annotations

import socket
import urllib.parse
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, FilePath, field_validator, model_validator

from agent.clock.monitor import ClockConfig
from agent.delivery.spool import SpoolConfig
from agent.inputs.files import FileSource
from agent.inputs.journald import JournaldConfig
from agent.inputs.syslog import SyslogConfig
from chronolog.config_loading import StrictModel, load_section
from chronolog.daemon import Listen, is_loopback
from chronolog.systemd import ConfigFile
from chronolog.timefmt import valid_zone
from chronolog.tls import Level

__all__ = ["AgentConfig", "load_config"]


class CollectorLink(StrictModel):
    url: str = Field(
        "http://127.0.0.1:8470",
        description="Base URL of the collector: https://HOST:PORT, or http:// to loopback only.",
    )
    token_file: Path = Field(
        Path("/etc/chronolog/agent/agent.token"),
        description="File holding this agent's bearer token (keep it mode 0600); not read when "
        "cert_file is set.",
    )
    ca_file: ConfigFile | None = Field(
        None, description="CA that issued the collector's certificate (pinned); unset: the "
        "system's trusted CAs.",
    )
    cert_file: ConfigFile | None = Field(
        None, description="This agent's client certificate, for mutual TLS instead of a token.",
    )
    key_file: ConfigFile | None = Field(None, description="The private key of cert_file.")
    tls_level: Level = Field("high", description="CRYPTREC suite level: high, recommended or strict-aes.")
    openssl_conf: FilePath | None = Field(
        None, description="OpenSSL configuration to run under instead of the shipped profile for "
        "tls_level; the agent still refuses to start unless the suites are exactly the level's.",
    )
    timeout: float = Field(30.0, gt=0, le=600, description="Seconds to wait for one delivery attempt.")
    compression: Literal["zstd", "gzip", "identity"] = Field("zstd", description="Batch compression.")
    retry_initial: float = Field(0.5, gt=0, le=60, description="First retry delay, seconds.")
    retry_max: float = Field(60.0, gt=0, le=3600, description="Longest retry delay, seconds.")

    @property
    def tls(self) -> bool:
        return self.url.startswith("https://")

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected https://HOST:PORT (or http://127.0.0.1:PORT), got {url!r}")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError(
                "plain HTTP would send the token and the logs in clear: use https://, or a "
                "collector on loopback (127.0.0.1, [::1], localhost)"
            )
        return url

    @model_validator(mode="after")
    def _client_certificate(self) -> CollectorLink:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: set both or neither")
        if self.cert_file is not None and not self.tls:
            raise ValueError("a client certificate needs an https:// collector url")
        return self


class BatchConfig(StrictModel):
    max_bytes: int = Field(1 << 20, ge=1 << 10, le=32 << 20, description="Cut a batch at this many bytes.")
    max_delay: float = Field(
        1.0, gt=0, le=60, description="Cut a batch this many seconds after its first line."
    )
    queue_bytes: int = Field(
        4 << 20, ge=1 << 16, le=1 << 30,
        description="Lines held in memory waiting for delivery; inputs pause when it is full. With "
        "max_bytes and in_flight it bounds the agent's memory (peak RSS about 47 MB + queue_bytes + "
        "(in_flight + 1) x max_bytes).",
    )
    in_flight: int = Field(
        2, ge=1, le=8,
        description="Batches sent to the collector before the first is answered, one connection each, "
        "so the agent makes the next batch while the collector stores the last. Offsets are still "
        "committed only on acknowledgement and in order.",
    )


class MetricsConfig(StrictModel):
    enabled: bool = Field(True, description="Serve Prometheus metrics.")
    listen: Listen = Field("127.0.0.1:9471", description="HOST:PORT of /metrics (keep it on loopback).")


def _default_files() -> list[FileSource]:
    return [FileSource(include=["/var/log/*.log"])]


class AgentConfig(StrictModel):
    id: str = Field("", description="Agent id; empty: generated once and kept in state_dir.")
    host: str = Field("", description="Host name on every record; empty: this machine's name.")
    zone: Annotated[str, AfterValidator(valid_zone)] = Field(
        "Asia/Tokyo", description="The one zone every event time is shown in."
    )
    state_dir: Path = Field(Path("/var/lib/chronolog-agent"), description="Checkpoints and agent id.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    record_config: bool = Field(
        True, description="At every start, ship the effective configuration's digest and what changed "
        "since the previous start as a record of the stream \"config\" (changes that widen exposure named).",
    )
    collector: CollectorLink = CollectorLink()
    batch: BatchConfig = BatchConfig()
    metrics: MetricsConfig = MetricsConfig()
    clock: ClockConfig = ClockConfig()
    files: list[FileSource] = Field(default_factory=_default_files)
    journald: JournaldConfig = JournaldConfig()
    syslog: SyslogConfig = SyslogConfig()
    spool: SpoolConfig = SpoolConfig()

    def host_name(self) -> str:
        return self.host or socket.gethostname()

    def spool_dir(self) -> Path:
        return self.spool.directory or self.state_dir / "spool"


def load_config(path: Path | None) -> AgentConfig:
    """The configuration in ``path``, or the embedded defaults when ``path`` is None."""
    return AgentConfig() if path is None else load_section(path, "agent", AgentConfig)
