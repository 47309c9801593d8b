"""Which hosts each tenant expects: names and shell patterns from the configuration and from
inventory files (one a line, ``#`` comments), files read again when they change.

A name can be missing (expected, never heard from); a pattern only marks the hosts that match
it as expected once they report.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from collector.fleet.config import ExpectedHosts

__all__ = ["Expected", "Inventory", "parse_inventory"]

log = logging.getLogger("collector.fleet")

_PATTERN = re.compile(r"[*?\[]")


@dataclass(frozen=True, slots=True)
class Expected:
    names: frozenset[str] = frozenset()
    patterns: tuple[re.Pattern[str], ...] = ()

    def __contains__(self, host: object) -> bool:
        return isinstance(host, str) and (host in self.names or any(p.fullmatch(host) for p in self.patterns))


def parse_inventory(entries: list[str]) -> Expected:
    """Names and patterns as one `Expected` (pure)."""
    names = {e for e in entries if not _PATTERN.search(e)}
    patterns = tuple(re.compile(fnmatch.translate(e)) for e in entries if _PATTERN.search(e))
    return Expected(frozenset(names), patterns)


def _lines(text: str) -> list[str]:
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


class Inventory:
    def __init__(self, entries: list[ExpectedHosts]) -> None:
        self._entries = entries
        self._files: dict[Path, tuple[float, list[str]]] = {}  # path -> (mtime, entries)
        self._cache: dict[str, tuple[tuple[float, ...], Expected]] = {}
        self._failing: set[Path] = set()

    def tenants(self) -> set[str]:
        return {e.tenant for e in self._entries}

    def expected(self, tenant: str) -> Expected:
        mine = [e for e in self._entries if e.tenant == tenant]
        if not mine:
            return Expected()
        files = [e.file for e in mine if e.file is not None]
        stamps = tuple(self._read(path) for path in files)
        cached = self._cache.get(tenant)
        if cached is not None and cached[0] == stamps:
            return cached[1]
        entries = [h for e in mine for h in e.hosts] + [h for path in files for h in self._files[path][1]]
        expected = parse_inventory(entries)
        self._cache[tenant] = (stamps, expected)
        return expected

    def _read(self, path: Path) -> float:
        """The file's modification time, (re)reading it when it changed. A file that cannot
        be read keeps what was read last (and says so)."""
        known = self._files.get(path)
        try:
            mtime = os.stat(path).st_mtime
            if known is not None and known[0] == mtime:
                return mtime
            self._files[path] = (mtime, _lines(path.read_text(encoding="utf-8")))
            self._failing.discard(path)
            return mtime
        except (OSError, UnicodeDecodeError) as e:
            if path not in self._failing:  # once, not at every look
                log.warning("cannot read inventory file; keeping what was read before",
                            extra={"file": str(path), "error": str(e)})
                self._failing.add(path)
            if known is None:
                self._files[path] = (-1.0, [])
            return self._files[path][0]
