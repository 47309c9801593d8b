"""The name and version chronolog puts in what it signs and reports."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["TOOL", "VERSION"]

try:
    VERSION = version("chronolog")
except PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "unknown"

TOOL = f"chronolog-collector {VERSION}"
