"""The ``[collector.store.jetstream]`` table (a NATS JetStream cluster as the store) and data
residency: where each remote store declares it is, and where data may be kept. Pure models;
nothing here connects anywhere."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from chronolog.config_loading import StrictModel

__all__ = ["JetStreamConfig", "Location", "ResidencyConfig", "outside"]


def _country(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (two capital letters: JP)")
    return value


Country = Annotated[str, AfterValidator(_country)]
MonitorUrl = Annotated[str, Field(pattern=r"^https?://[^/\s]+/?$")]


class Location(StrictModel):
    """Where a store keeps its data, as its operator declares it."""

    country: Country = Field(description="ISO 3166-1 alpha-2 code of the country, e.g. JP.")
    region: str = Field("", description="Region or prefecture, e.g. Tokyo.")
    site: str = Field("", description="Data centre or site name, e.g. tokyo-1.")

    def label(self) -> str:
        return "/".join(p for p in (self.country, self.region, self.site) if p)


class ResidencyConfig(StrictModel):
    allowed_countries: list[Country] = Field(
        ["JP"], min_length=1, description="Countries where a remote store may keep data (ISO 3166-1 "
        "alpha-2). The collector refuses to start when a configured store is declared elsewhere.",
    )


def outside(location: Location, residency: ResidencyConfig) -> bool:
    return location.country not in residency.allowed_countries


class JetStreamConfig(StrictModel):
    servers: list[str] = Field(
        ["nats://127.0.0.1:4222"], min_length=1,
        description="NATS URLs of the cluster's servers (the client fails over between them).",
    )
    monitor_urls: list[MonitorUrl] = Field(
        [], description="The servers' HTTP monitoring endpoints (http://host:8222), read for the "
        "cluster's health metrics; empty: no cluster metrics.",
    )
    location: Location | None = Field(
        None, description="Where the cluster keeps its data (required with backend = \"jetstream\"); "
        "checked against residency.allowed_countries, shown in metrics and disposal reports.",
    )
    placement_tags: list[str] = Field(
        [], description="JetStream placement tags every stream and bucket must be placed by (the "
        "servers' server_tags, e.g. [\"country:jp\"]): JetStream itself then refuses servers elsewhere.",
    )
    replicas: int = Field(3, ge=1, le=5, description="Replicas of every stream and bucket (an odd number).")
    prefix: str = Field(
        "chronolog", pattern=r"^[a-z][a-z0-9_-]{0,30}$",
        description="Prefix of the stream, bucket and subject names (several deployments on one cluster).",
    )
    duplicate_window: float = Field(
        600.0, ge=1, le=86_400, description="Seconds JetStream remembers a batch's id: a resend within "
        "them is stored once by JetStream itself (later ones are dropped when sealed).",
    )
    ack_timeout: float = Field(
        5.0, gt=0, le=120, description="Seconds to wait for JetStream's acknowledgement of one publish "
        "before it is sent again (same id, so stored once).",
    )
    write_deadline: float = Field(
        30.0, gt=0, le=600, description="Seconds a batch may wait for the cluster (a leader election, "
        "say) before the agent is told to retry later (503).",
    )
    lease_seconds: float = Field(
        15.0, ge=2, le=600, description="How long a collector's lease on sealing a tenant lasts unless "
        "renewed; a collector that dies is replaced after at most this.",
    )
    max_payload: int = Field(
        8 << 20, ge=1 << 20, le=64 << 20, description="The servers' max_payload: the largest message "
        "(a batch, a catalog entry) the collector sends.",
    )
