"""The seam through which an export takes the collector's own cross-check of each host's
clock (the fleet registry, docs/clock.md), when the collector keeps one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from aiohttp import web

__all__ = ["CROSS_CHECK", "CrossCheck", "NoCrossCheck"]


class CrossCheck(Protocol):
    def cross_check(self, tenant: str, hosts: Iterable[str]) -> dict[str, Any]:
        """``{"available": True, "at": us, "hosts": {host: {...}}}`` with, per host, the
        collector's measurement of its clock as it stands now; or ``{"available": False,
        "reason": ...}``."""
        ...


class NoCrossCheck:
    """A collector without a fleet registry: the bundle says there is no cross-check."""

    def cross_check(self, tenant: str, hosts: Iterable[str]) -> dict[str, Any]:
        return {"available": False, "reason": "this collector keeps no cross-check of host clocks"}


CROSS_CHECK = web.AppKey("cross_check", CrossCheck)
