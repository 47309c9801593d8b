"""The fleet view's configuration: the ``[collector.fleet]`` table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, FilePath, model_validator

from chronolog.clock.auditor import AuditConfig
from chronolog.config_loading import StrictModel
from collector.store.names import TENANT_NAME

__all__ = ["CollectorClockConfig", "ExpectedHosts", "FleetConfig", "FleetMetricsConfig"]


def _tenant_name(name: str) -> str:
    if not TENANT_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a tenant name (1-63 of a-z, 0-9, '-', '_')")
    return name


class ExpectedHosts(StrictModel):
    """One tenant's inventory: the hosts that should be reporting."""

    tenant: Annotated[str, AfterValidator(_tenant_name)] = Field(description="The tenant they belong to.")
    hosts: list[Annotated[str, Field(min_length=1, max_length=512)]] = Field(
        [], description="Host names, or shell patterns (web-*, db-[12]) that mark a host expected "
        "once it reports (a pattern cannot name a host that never did).")
    file: FilePath | None = Field(
        None, description="A file of more names or patterns, one a line ('#' starts a comment); "
        "read again when it changes.")


class CollectorClockConfig(AuditConfig):
    """The collector audits its own clock the way an agent audits its host (the same code):
    host clocks are cross-checked against the collector's, so its error counts too."""

    budget: float = Field(0.100, gt=0, le=3600, description="Seconds of clock error allowed, for "
                          "the collector's clock and for each host's clock as the cross-check sees it.")
    warn: float = Field(0.050, gt=0, le=3600, description="Seconds of clock error that warn.")

    @model_validator(mode="after")
    def _budget(self) -> CollectorClockConfig:
        if self.warn > self.budget:
            raise ValueError(f"warn ({self.warn:g} s) must not exceed budget ({self.budget:g} s)")
        return self


class FleetMetricsConfig(StrictModel):
    max_hosts: int = Field(1000, ge=0, le=100_000, description="Hosts per tenant labelled in the "
                           "metrics; the rest are counted (chronolog_fleet_hosts_unlabelled), not labelled.")
    max_streams: int = Field(20, ge=0, le=1000, description="Streams per host labelled in the metrics.")
    tenant_names: bool = Field(False, description="Label tenants by name; by default by an opaque id "
                               "(shown to the tenant's investigators by `chronolog hosts`).")


class FleetConfig(StrictModel):
    silent_after: float = Field(60.0, gt=0, le=86400, description="Seconds without anything from a "
                                "host after which it is silent (agents send a heartbeat every 20 s).")
    missing_after: float = Field(300.0, gt=0, le=86400 * 7, description="Seconds an expected host may "
                                 "be silent (or, after a start, not yet heard from) before it is missing.")
    forget_after: float = Field(7 * 86400.0, gt=0, description="Seconds after which a silent host that "
                                "is not expected is dropped from the fleet view (its lines stay).")
    drift_ppm: float = Field(100.0, ge=0, le=2000, description="How fast a host's clock and the "
                             "collector's may drift apart, assumed when the cross-check ages.")
    save_interval: float = Field(10.0, gt=0, le=3600, description="Seconds between saves of the fleet "
                                 "registry (in data_dir/fleet/), and at stop.")
    max_hosts: int = Field(100_000, ge=1, le=10_000_000, description="Hosts kept per tenant: a host "
                           "name beyond it is not taken in (its lines are still stored), and said once, "
                           "so an agent that makes up host names cannot grow the registry without end.")
    clock: CollectorClockConfig = CollectorClockConfig()
    metrics: FleetMetricsConfig = FleetMetricsConfig()
    expected: list[ExpectedHosts] = Field([], description="The inventory, per tenant.")

    @model_validator(mode="after")
    def _thresholds(self) -> FleetConfig:
        if self.missing_after < self.silent_after:
            raise ValueError(f"missing_after ({self.missing_after:g} s) must not be shorter than "
                             f"silent_after ({self.silent_after:g} s)")
        return self


def inventory_files(config: FleetConfig) -> list[Path]:
    return [e.file for e in config.expected if e.file is not None]
