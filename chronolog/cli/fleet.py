"""``chronolog hosts`` and ``chronolog streams``: the fleet as the collector sees it.

``hosts`` exits 0 when every host is well, 3 when an expected host is missing or a clock is
over budget, unknown, or contradicted by the collector's cross-check (1 and 2 keep their
meaning: the collector could not be asked, the command line is wrong).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import orjson

from chronolog.cli.client import ApiClient
from chronolog.cliutil import UsageError
from chronolog.timefmt import BadTime, valid_zone

__all__ = ["PROBLEMS", "add_fleet_parsers", "render_hosts", "run_hosts", "run_streams"]

PROBLEMS = 3  # exit status: the fleet has a problem


def add_fleet_parsers(sub: Any) -> None:
    h = sub.add_parser("hosts", help="the fleet: each host's state, lag, clock and gaps; exit 3 on a problem")
    h.add_argument("--json", action="store_true", help="the collector's whole answer, as JSON")
    h.add_argument("--zone", default=os.environ.get("CHRONOLOG_ZONE", "Asia/Tokyo"),
                   help="zone of the times in --json (default Asia/Tokyo)")
    sub.add_parser("streams", help="per stream: host, lines held, highest sequence number, gaps, last seen")


def run_hosts(client: ApiClient, args: argparse.Namespace) -> int:
    try:
        zone = valid_zone(args.zone)
    except BadTime as e:
        raise UsageError(str(e)) from None
    doc = client.get_json("/v1/hosts", [("zone", zone)])
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
    else:
        sys.stdout.write(render_hosts(doc))
    return PROBLEMS if any(h["problems"] for h in doc["hosts"]) else 0


def run_streams(client: ApiClient) -> int:
    for s in client.get_json("/v1/streams")["streams"]:
        gaps = ", ".join(f"{a}-{b - 1}" for a, b in s["gaps"]) or "none"
        print(f"{s.get('host') or '-'}\t{s['agent']}\t{s['stream']}\tlines={s['lines']}\t"
              f"last_seq={s['last_seq']}\tgaps={gaps}\tlast_seen={s.get('last_seen') or 'never'}")
    return 0


# ---- the table (pure) -------------------------------------------------------------------------

HEADER = ("HOST", "STATE", "LAST SEEN", "LAG", "CLOCK", "CLAIMED OFFSET", "CROSS-CHECK", "GAPS")


def render_hosts(doc: dict[str, Any]) -> str:
    rows = [HEADER] + [_row(h) for h in doc["hosts"]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    s = doc["summary"]
    lines.append(f"# {s['hosts']} hosts ({s['expected']} expected): {s['reporting']} reporting, "
                 f"{s['silent']} silent, {s['missing']} missing; {s['over_budget']} over the clock budget "
                 f"({doc['settings']['budget']:g} s); tenant id {doc['tenant_id']} in metrics")
    clock = doc["collector"]["clock"]
    mine = (f"offset {clock['offset']:+.6f} s, bound {clock['bound']:.6f} s" if clock["bound"] is not None
            else clock["reason"])
    lines.append(f"# collector clock: {clock['status']}, {mine}")
    for h in doc["hosts"]:
        if h["problems"]:
            lines.append(f"# {h['host']}: {', '.join(h['problems'])}")
    return "\n".join(lines) + "\n"


def _row(h: dict[str, Any]) -> tuple[str, ...]:
    clock, check = h["clock"], h["crosscheck"]
    claimed = _interval(clock.get("offset"), clock.get("bound"), radius_from_bound=True)
    checked = "-"
    if "min" in check:
        checked = (_interval((check["min"] + check["max"]) / 2, (check["max"] - check["min"]) / 2)
                   if check["max"] is not None else f">= {check['min']:+.4f} s")
    if h["disagreement"]:
        checked += f" (disagrees by {h['disagreement']:.4f} s)"
    seen = "never" if h["since_seen"] is None else f"{_age(h['since_seen'])} ago"
    lag = "-" if h["lag"] is None else f"{h['lag']:.2f} s"
    gaps = str(h["gaps"]["lines"]) if h["gaps"]["lines"] else "0"
    return (h["host"], h["state"], seen, lag, clock["status"], claimed, checked, gaps)


def _interval(offset: float | None, spread: float | None, radius_from_bound: bool = False) -> str:
    """``+3.0001 ±0.0005 s``: the middle and half-width. A clock view's bound is its farthest
    end, so its half-width is the bound less the offset's size."""
    if offset is None or spread is None:
        return "-"
    radius = max(0.0, spread - abs(offset)) if radius_from_bound else spread
    return f"{offset:+.4f} ±{radius:.4f} s"


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
