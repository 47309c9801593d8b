"""What changed in a program's effective configuration since it last started, and whether the
change widens exposure (seed #6: "private settings silently becoming public"). Pure.

The collector writes the digest and the changes of every start into its audit trail, the
agent into its generated ``config`` stream (issue 16). Each side names its own rules: which
setting, and what change of it, widens exposure (a listener leaving loopback, TLS off, a
weaker TLS level, retention shortened, ...).
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from chronolog.daemon import is_loopback, split_listen

__all__ = ["Change", "Rule", "changes", "digest", "flatten", "leaves_loopback", "longer", "shorter_retention",
           "switched_on", "turned_off", "weaker_level", "widened"]


@dataclass(frozen=True, slots=True)
class Change:
    key: str  # dotted, e.g. "api.listen"
    before: Any  # None: the setting was absent
    after: Any


def flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables as dotted keys; lists stay values."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):  # an empty table is as good as none
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def digest(effective: dict[str, Any]) -> str:
    """SHA-256 (hex) of the configuration, keys sorted: equal configurations, equal digests."""
    return hashlib.sha256(orjson.dumps(effective, option=orjson.OPT_SORT_KEYS)).hexdigest()


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[Change]:
    """Every setting that differs, sorted by key (none at a first start: nothing to compare)."""
    if before is None:
        return []
    old, new = flatten(before), flatten(after)
    return [Change(k, old.get(k), new.get(k)) for k in sorted(old.keys() | new.keys())
            if old.get(k) != new.get(k)]


Widens = Callable[[Any, Any], bool]
Rule = tuple[str, Widens, str]  # (key pattern, does this change widen exposure, what it means)


def widened(found: list[Change], rules: list[Rule]) -> list[dict[str, Any]]:
    """The changes that widen exposure: ``{setting, before, after, why}`` each."""
    out = []
    for change in found:
        for pattern, widens, why in rules:
            if fnmatch.fnmatchcase(change.key, pattern) and widens(change.before, change.after):
                out.append({"setting": change.key, "before": change.before, "after": change.after,
                            "why": why})
                break
    return out


# ---- what widens, for the rules ----------------------------------------------------------------

def _loopback(listen: Any) -> bool:
    if not isinstance(listen, str) or not listen:
        return True  # off ("" or absent) exposes nothing
    try:
        return is_loopback(split_listen(listen)[0])
    except ValueError:
        return False


def leaves_loopback(before: Any, after: Any) -> bool:
    """A HOST:PORT that was on loopback (or off) and is not any more."""
    return _loopback(before) and not _loopback(after)


def turned_off(before: Any, after: Any) -> bool:
    """Something that was set (a certificate, a pinned CA, https) and is not any more."""
    return bool(before) and not after


def switched_on(before: Any, after: Any) -> bool:
    return not before and bool(after)


def longer(before: Any, after: Any) -> bool:
    return isinstance(before, int | float) and isinstance(after, int | float) and after > before


def shorter_retention(before: Any, after: Any) -> bool:
    """Days of retention, 0 meaning for ever: any limit where there was none, or a lower one."""
    if not isinstance(after, int) or after <= 0:
        return False
    return not isinstance(before, int) or before <= 0 or after < before


# docs/tls.md: AES-128 first, then AES-256 first, then AES only (no ChaCha20).
_STRENGTH = {"recommended": 0, "high": 1, "strict-aes": 2}


def weaker_level(before: Any, after: Any) -> bool:
    return _STRENGTH.get(str(after), -1) < _STRENGTH.get(str(before), -1)
