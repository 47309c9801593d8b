"""What a query asks for, as one value, and how the API's parameters become it. Pure.

`QuerySpec` is the selection (window, hosts, streams, text, order, context) plus the page
size and the zone results are shown in; `from_params` reads it from ``GET /v1/query``'s
parameters (docs/wire.md), or from a cursor, which carries the query it continues. Other
readers of the store (an export) select lines with the same value.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from chronolog.timefmt import BadTime, parse_rfc3339, valid_zone

__all__ = ["ORDERS", "BadQuery", "Cursor", "Limits", "Page", "QuerySpec", "TextFilter", "from_params"]

ORDERS = ("event", "corrected")
MAX_PATTERNS = 16
MAX_PATTERN_CHARS = 1000


class BadQuery(ValueError):
    """A query that cannot run as asked; the message says what is wrong and what was expected."""


@dataclass(frozen=True, slots=True)
class TextFilter:
    """Which messages a query keeps: every ``grep`` substring and ``regex`` (RE2 syntax) found
    in it, no ``exclude`` substring nor ``exclude_regex`` found; ``ignore_case`` for all."""

    grep: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    exclude_regex: tuple[str, ...] = ()
    ignore_case: bool = False

    def __bool__(self) -> bool:
        return bool(self.grep or self.regex or self.exclude or self.exclude_regex)


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """A query. ``until`` None is open-ended ("now"): lines stamped after the collector's
    clock are included (and flagged). ``before``/``after``: context lines from the hit's own
    stream. ``order``: ``event`` (as stamped) or ``corrected`` (by the host's measured clock
    offset)."""

    since: int  # inclusive, microseconds since the epoch
    until: int | None  # exclusive
    hosts: frozenset[str] = frozenset()  # empty: every host
    streams: frozenset[str] = frozenset()  # empty: every stream
    text: TextFilter = TextFilter()
    order: str = "event"
    before: int = 0
    after: int = 0
    limit: int = 10_000  # hits per page
    zone: str = "UTC"

    def selection(self) -> dict[str, Any]:
        """What chooses the lines and their order (a cursor carries it; page size and zone
        may change from page to page)."""
        d = asdict(self)
        for k in ("limit", "zone"):
            del d[k]
        d["hosts"], d["streams"] = sorted(self.hosts), sorted(self.streams)
        d["text"] = {k: list(v) if isinstance(v, tuple) else v for k, v in d["text"].items()}
        return d

    @classmethod
    def from_selection(cls, d: dict[str, Any], limit: int, zone: str) -> QuerySpec:
        text = d["text"]
        return cls(d["since"], d["until"], frozenset(d["hosts"]), frozenset(d["streams"]),
                   TextFilter(tuple(text["grep"]), tuple(text["regex"]), tuple(text["exclude"]),
                              tuple(text["exclude_regex"]), bool(text["ignore_case"])),
                   d["order"], d["before"], d["after"], limit, zone)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page stopped: the query, the snapshot (lines received before ``as_of`` by the
    collector's clock) and the sort key of the last line returned. Opaque to clients."""

    selection: dict[str, Any]
    as_of: int
    key: tuple[int, str, str, str, int]

    def encode(self) -> str:
        doc = orjson.dumps({"v": 1, "q": self.selection, "as_of": self.as_of, "key": list(self.key)})
        return base64.urlsafe_b64encode(zlib.compress(doc, 9)).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            doc = orjson.loads(zlib.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)),
                                               bufsize=1 << 16))
            key = doc["key"]
            if doc["v"] != 1 or not isinstance(doc["as_of"], int) or not _is_key(key):
                raise ValueError
            QuerySpec.from_selection(doc["q"], 1, "UTC")  # it must describe a query
            return cls(doc["q"], doc["as_of"], (key[0], key[1], key[2], key[3], key[4]))
        except (ValueError, TypeError, KeyError, zlib.error, orjson.JSONDecodeError):
            raise BadQuery("'cursor' is not a cursor this collector gave: pass the summary's "
                           "cursor unchanged") from None


def _is_key(key: Any) -> bool:
    return (isinstance(key, list) and len(key) == 5 and isinstance(key[0], int)
            and all(isinstance(k, str) for k in key[1:4]) and isinstance(key[4], int))


@dataclass(frozen=True, slots=True)
class Limits:
    """The collector's ceilings (collector.query in the configuration)."""

    zone: str = "Asia/Tokyo"
    max_results: int = 10_000
    time_budget: float = 10.0
    max_context: int = 100


@dataclass(frozen=True, slots=True)
class Page:
    """One request: the query, where to resume (None: from the start) and how long to run."""

    spec: QuerySpec
    cursor: Cursor | None
    budget: float
    params: dict[str, list[str]] = field(default_factory=dict)  # as given, for the audit trail


SELECTION = {"since", "until", "host", "stream", "grep", "regex", "not", "not_regex", "i", "order",
             "before", "after", "context"}
PAGING = {"cursor", "limit", "zone", "budget"}
PARAMS = SELECTION | PAGING


def from_params(query: Mapping[str, Sequence[str]], limits: Limits,
                extra: frozenset[str] = frozenset()) -> Page:
    """The page a request asks for. ``query`` maps each parameter to its values; ``extra``
    names parameters the caller handles itself. Raises `BadQuery`."""
    unknown = sorted(set(query) - PARAMS - extra)
    if unknown:
        raise BadQuery(f"unknown parameter {unknown[0]!r}; expected {', '.join(sorted(PARAMS | extra))}")
    repeated = sorted(k for k, v in query.items() if len(v) > 1 and k not in
                      {"host", "stream", "grep", "regex", "not", "not_regex"})
    if repeated:
        raise BadQuery(f"{repeated[0]!r} given more than once; it takes one value")
    one = {k: v[0] for k, v in query.items() if v}
    zone = _zone(one.get("zone", limits.zone))
    limit = _integer(one, "limit", 1, limits.max_results, limits.max_results)
    budget = _seconds(one.get("budget"), limits.time_budget)
    params = {k: list(v) for k, v in sorted(query.items())}
    if "cursor" in one:
        given = sorted(set(query) & SELECTION)
        if given:
            raise BadQuery(f"a cursor carries its query: give it with only {', '.join(sorted(PAGING))}, "
                           f"not {given[0]!r}")
        cursor = Cursor.decode(one["cursor"])
        return Page(QuerySpec.from_selection(cursor.selection, limit, zone), cursor, budget, params)
    return Page(_spec(query, one, limits, limit, zone), None, budget, params)


def _spec(query: Mapping[str, Sequence[str]], one: dict[str, str], limits: Limits, limit: int,
          zone: str) -> QuerySpec:
    if "since" not in one:
        raise BadQuery("'since' is required (RFC 3339 with an offset)")
    since = _instant(one["since"], "since")
    until = None if one.get("until", "now") == "now" else _instant(one["until"], "until")
    if until is not None and until <= since:
        raise BadQuery("'until' must be after 'since'")
    order = one.get("order", "event")
    if order not in ORDERS:
        raise BadQuery(f"'order' must be one of {', '.join(ORDERS)}, not {order!r}")
    context = _integer(one, "context", 0, limits.max_context, 0)
    before = _integer(one, "before", 0, limits.max_context, context)
    after = _integer(one, "after", 0, limits.max_context, context)
    ignore_case = one.get("i", "0")
    if ignore_case not in ("0", "1"):
        raise BadQuery("'i' (ignore case) must be 1 or 0")
    text = TextFilter(_patterns(query, "grep"), _patterns(query, "regex"), _patterns(query, "not"),
                      _patterns(query, "not_regex"), ignore_case == "1")
    return QuerySpec(since, until, _names(query, "host"), _names(query, "stream"), text, order, before,
                     after, limit, zone)


def _instant(text: str, name: str) -> int:
    try:
        return parse_rfc3339(text)
    except BadTime as e:
        raise BadQuery(f"'{name}': {e}") from None


def _zone(name: str) -> str:
    try:
        return valid_zone(name)
    except BadTime as e:
        raise BadQuery(str(e)) from None


def _integer(one: dict[str, str], name: str, lo: int, hi: int, default: int) -> int:
    text = one.get(name)
    if text is None:
        return default
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise BadQuery(f"'{name}' must be an integer from {lo} to {hi}")
    return int(text)


def _seconds(text: str | None, ceiling: float) -> float:
    if text is None:
        return ceiling
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= ceiling:
        raise BadQuery(f"'budget' must be seconds, more than 0 and at most {ceiling:g}")
    return value


def _names(query: Mapping[str, Sequence[str]], name: str) -> frozenset[str]:
    values = list(query.get(name, ()))
    if any(not v for v in values):
        raise BadQuery(f"'{name}' must not be empty")
    return frozenset(values)


def _patterns(query: Mapping[str, Sequence[str]], name: str) -> tuple[str, ...]:
    values = list(query.get(name, ()))
    if len(values) > MAX_PATTERNS:
        raise BadQuery(f"at most {MAX_PATTERNS} '{name}' patterns")
    for v in values:
        if not v or len(v) > MAX_PATTERN_CHARS:
            raise BadQuery(f"each '{name}' must be 1 to {MAX_PATTERN_CHARS} characters")
    return tuple(values)
