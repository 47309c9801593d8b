"""The inventory: names and patterns per tenant, from the configuration and from a file that
is read again when it changes."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from collector.fleet.config import ExpectedHosts, FleetConfig
from collector.fleet.inventory import Inventory, parse_inventory


def test_names_and_patterns() -> None:
    expected = parse_inventory(["web-1", "db-*", "cache-[12]"])
    assert expected.names == {"web-1"}
    assert [h in expected for h in ("web-1", "web-2", "db-eu-3", "cache-2", "cache-3")] == [
        True, False, True, True, False]


def test_a_file_is_read_again_when_it_changes_and_kept_when_it_cannot_be(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    listing = tmp_path / "city-hosts.txt"
    listing.write_text("# the city's VMs\nweb-1\n\nweb-2  # behind the balancer\n")
    inventory = Inventory([ExpectedHosts(tenant="city", hosts=["db-1"], file=listing),
                           ExpectedHosts(tenant="othertown", hosts=["ot-*"])])
    assert inventory.tenants() == {"city", "othertown"}
    assert inventory.expected("city").names == {"db-1", "web-1", "web-2"}
    assert inventory.expected("nobody").names == frozenset()
    listing.write_text("web-3\n")
    os.utime(listing, (1, 1))  # a new modification time, whatever the clock's resolution
    assert inventory.expected("city").names == {"db-1", "web-3"}
    listing.unlink()
    with caplog.at_level(logging.WARNING, "collector.fleet"):
        assert inventory.expected("city").names == {"db-1", "web-3"}
        assert inventory.expected("city").names == {"db-1", "web-3"}
    assert [r.message for r in caplog.records] == ["cannot read inventory file; keeping what was read before"]


def test_the_configuration_names_the_mistake() -> None:
    with pytest.raises(ValueError, match="not a tenant name"):
        ExpectedHosts(tenant="City Hall", hosts=["web-1"])
    with pytest.raises(ValueError, match="missing_after"):
        FleetConfig(silent_after=600, missing_after=300)
