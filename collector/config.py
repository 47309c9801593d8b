"""The collector's configuration: the ``[collector]`` table, one model per role."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from chronolog.config_loading import StrictModel, load_section
from chronolog.daemon import Listen, is_loopback, split_listen
from chronolog.timefmt import valid_zone

__all__ = ["CollectorConfig", "load_config"]

Zone = Annotated[str, AfterValidator(valid_zone)]


class ApiConfig(StrictModel):
    listen: Listen = Field(
        "127.0.0.1:8470",
        description="HOST:PORT for ingest and queries. Loopback only until TLS is configured.",
    )
    max_body_bytes: int = Field(
        64 << 20, ge=1 << 16, le=1 << 30,
        description="Largest batch accepted, in bytes after decompression.",
    )


class MetricsConfig(StrictModel):
    enabled: bool = Field(True, description="Serve Prometheus metrics.")
    listen: Listen = Field("127.0.0.1:9470", description="HOST:PORT of the /metrics endpoint.")


class StoreConfig(StrictModel):
    fsync: bool = Field(
        True, description="fsync before acknowledging. Turning it off loses acknowledged "
        "lines on a power failure; only for throwaway test stores.",
    )


class QueryConfig(StrictModel):
    zone: Zone = Field("Asia/Tokyo", description="Zone results are shown in unless the query names one.")
    max_results: int = Field(10_000, ge=1, le=1_000_000, description="Most lines one query returns.")


class CollectorConfig(StrictModel):
    data_dir: Path = Field(Path("/var/lib/chronolog"), description="Where the store and credentials live.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    api: ApiConfig = ApiConfig()
    metrics: MetricsConfig = MetricsConfig()
    store: StoreConfig = StoreConfig()
    query: QueryConfig = QueryConfig()

    @model_validator(mode="after")
    def _loopback_until_tls(self) -> CollectorConfig:
        host, _ = split_listen(self.api.listen)
        if not is_loopback(host):
            raise ValueError(
                f"api.listen = {self.api.listen!r}: this collector serves plain HTTP, so it "
                "listens on loopback only (127.0.0.1 or [::1]) until TLS is configured"
            )
        return self


def load_config(path: Path | None) -> CollectorConfig:
    """The configuration in ``path``, or the embedded defaults when ``path`` is None."""
    return CollectorConfig() if path is None else load_section(path, "collector", CollectorConfig)
