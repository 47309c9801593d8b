"""The collector's configuration: the ``[collector]`` table, one model per role."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, FilePath, model_validator

from chronolog.config_loading import StrictModel, load_section
from chronolog.daemon import Listen, is_loopback, split_listen
from chronolog.systemd import ConfigFile, handed_over
from chronolog.timefmt import valid_zone
from chronolog.tls import Level, certificate_problems
from collector.auth.sessions import AdminConfig
from collector.console.config import ConsoleConfig
from collector.fleet.config import FleetConfig
from collector.query.spec import Limits
from collector.store.jetstream.config import ResidencyConfig, outside
from collector.store.keys import KeysConfig
from collector.store.local import StoreConfig

__all__ = ["CollectorConfig", "load_config"]

Zone = Annotated[str, AfterValidator(valid_zone)]


class TlsConfig(StrictModel):
    """TLS on the API port (#13). Off until ``cert_file`` and ``key_file`` are set."""

    cert_file: ConfigFile | None = Field(None, description="The collector's certificate (PEM).")
    key_file: ConfigFile | None = Field(None, description="Its private key (PEM, keep it 0600).")
    client_ca_file: ConfigFile | None = Field(
        None, description="CA of agent certificates; set it to accept mutual TLS. Agents "
        "without a certificate can still use a bearer token.",
    )
    level: Level = Field("high", description="CRYPTREC suite level: high, recommended or strict-aes.")
    openssl_conf: FilePath | None = Field(
        None, description="OpenSSL configuration to run under instead of the shipped profile for "
        "the level; the collector still refuses to start unless the suites are exactly the level's.",
    )
    session_tickets: bool = Field(
        False, description="Let clients resume TLS sessions with tickets. Off: a ticket key kept "
        "for the process's lifetime would otherwise hold every resumed session's secrets.",
    )

    @property
    def enabled(self) -> bool:
        return self.cert_file is not None

    @model_validator(mode="after")
    def _pair(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: set both or neither")
        if self.client_ca_file is not None and self.cert_file is None:
            raise ValueError("client_ca_file needs cert_file and key_file (mutual TLS is TLS)")
        if self.cert_file is not None:
            problems = certificate_problems(handed_over(self.cert_file).read_bytes())
            if problems:  # issue 16: refused at start (and by check-config), not served
                raise ValueError(f"cert_file {str(self.cert_file)!r} is outside the certificate profile "
                                 f"of docs/tls.md: {'; '.join(problems)}")
        return self


class ApiConfig(StrictModel):
    listen: Listen = Field(
        "127.0.0.1:8470",
        description="HOST:PORT for ingest and queries. Loopback only unless TLS is configured.",
    )
    max_body_bytes: int = Field(
        64 << 20, ge=1 << 16, le=1 << 30,
        description="Largest batch accepted, in bytes after decompression.",
    )
    header_timeout: float = Field(
        20.0, gt=0, le=600,
        description="Seconds a connection may take to send a request head, from when it opens or "
        "its previous answer ends (then it is closed); also how long an idle keep-alive "
        "connection is kept.",
    )
    body_timeout: float = Field(
        60.0, gt=0, le=3600, description="Seconds a request may take to send its body whole (408 past it).",
    )
    max_requests: int = Field(
        256, ge=1, le=100_000,
        description="Requests handled at once; more are refused with 503 and Retry-After.",
    )
    ingest_memory_bytes: int = Field(
        1 << 30, ge=1 << 20,
        description="Memory the batches in flight may hold, estimated before they are decompressed "
        "(10 bytes per byte of JSON); more are refused with 503 and Retry-After. One batch is "
        "always let through alone, however large.",
    )


class MetricsConfig(StrictModel):
    enabled: bool = Field(True, description="Serve Prometheus metrics.")
    listen: Listen = Field("127.0.0.1:9470", description="HOST:PORT of the /metrics endpoint.")


class QueryConfig(StrictModel):
    zone: Zone = Field("Asia/Tokyo", description="Zone results are shown in unless the query names one.")
    max_results: int = Field(10_000, ge=1, le=1_000_000,
                             description="Most hits one page of a query returns; a cursor gives the rest.")
    time_budget: float = Field(
        10.0, gt=0, le=600, description="Seconds a page of a query may run; then it returns what it "
        "found, marked incomplete, with a cursor that continues it.")
    max_context: int = Field(100, ge=0, le=10_000,
                             description="Most context lines a query may ask before or after a hit.")
    skew_margin: float = Field(
        60.0, ge=0, le=86_400, description="Seconds either side of a query's window read for lines "
        "that only their host's clock correction brings into it (a host ahead or behind by up to this; "
        "a host off by more is named in the summary).")

    def limits(self) -> Limits:
        return Limits(self.zone, self.max_results, self.time_budget, self.max_context)


class CollectorConfig(StrictModel):
    data_dir: Path = Field(Path("/var/lib/chronolog"), description="Where the store and credentials live.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    api: ApiConfig = ApiConfig()
    tls: TlsConfig = TlsConfig()
    metrics: MetricsConfig = MetricsConfig()
    store: StoreConfig = StoreConfig()
    keys: KeysConfig = KeysConfig()
    query: QueryConfig = QueryConfig()
    console: ConsoleConfig = ConsoleConfig()
    admin: AdminConfig = AdminConfig()
    fleet: FleetConfig = FleetConfig()
    residency: ResidencyConfig = ResidencyConfig()

    @model_validator(mode="after")
    def _store_where_allowed(self) -> CollectorConfig:
        if self.store.backend != "jetstream":
            return self
        location = self.store.jetstream.location
        if location is None:
            raise ValueError("store.backend = \"jetstream\" needs store.jetstream.location (where the "
                             "cluster keeps its data, e.g. country = \"JP\")")
        if outside(location, self.residency):
            raise ValueError(f"store.jetstream.location is {location.label()}, outside "
                             f"residency.allowed_countries {self.residency.allowed_countries}: "
                             "the collector keeps data only there")
        return self

    @model_validator(mode="after")
    def _loopback_until_tls(self) -> CollectorConfig:
        host, _ = split_listen(self.api.listen)
        if not is_loopback(host) and not self.tls.enabled:
            raise ValueError(
                f"api.listen = {self.api.listen!r}: without TLS the collector listens on "
                "loopback only (127.0.0.1 or [::1]); set tls.cert_file and tls.key_file first"
            )
        return self


def load_config(path: Path | None) -> CollectorConfig:
    """The configuration in ``path``, or the embedded defaults when ``path`` is None."""
    return CollectorConfig() if path is None else load_section(path, "collector", CollectorConfig)
