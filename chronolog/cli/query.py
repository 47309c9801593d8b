"""``chronolog query``: lines of every host as one timeline, with filters, context, clock
corrections and pages that never time out.

The collector answers a page at a time (docs/wire.md): a page that runs out of time ends
with a cursor, and this command asks for the next one at once, so a long range simply takes
longer. When ``--limit`` lines are printed and more match, it stops and prints the command
that continues exactly where it stopped (``--cursor``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from chronolog.cli.client import ApiClient
from chronolog.cli.output import FORMATS, Printer
from chronolog.cli.timerange import parse_when
from chronolog.cliutil import Failure, UsageError
from chronolog.timefmt import BadTime, now_us, to_rfc3339, valid_zone

__all__ = ["add_filter_arguments", "add_query_parser", "filter_params", "output_format", "run_query"]

PAGE = 1000  # hits asked per page


def add_filter_arguments(q: argparse.ArgumentParser) -> None:
    """The filters ``query``, ``tail`` and ``count`` share."""
    q.add_argument("--host", action="append", default=[], help="only this host (repeatable)")
    q.add_argument("--stream", action="append", default=[],
                   help="only this stream, e.g. file:/var/log/app.log, journald, clock (repeatable)")
    q.add_argument("--grep", action="append", default=[], metavar="TEXT",
                   help="only lines containing TEXT (repeatable: all must be found)")
    q.add_argument("--regex", action="append", default=[], metavar="RE",
                   help="only lines matching the regular expression RE (RE2 syntax; repeatable: all)")
    q.add_argument("--not", action="append", default=[], dest="exclude", metavar="TEXT",
                   help="leave out lines containing TEXT (repeatable)")
    q.add_argument("--not-regex", action="append", default=[], dest="exclude_regex", metavar="RE",
                   help="leave out lines matching RE (repeatable)")
    q.add_argument("-i", "--ignore-case", action="store_true", help="TEXT and RE ignore case")
    q.add_argument("--zone", default=os.environ.get("CHRONOLOG_ZONE", "Asia/Tokyo"),
                   help="zone for times without an offset and for the output (default Asia/Tokyo)")


def add_query_parser(sub: Any) -> None:
    q = sub.add_parser("query", help="lines of every host as one timeline, in one zone")
    q.add_argument("--since", help="start: 'now', an age (15m, 2h), RFC 3339, or 'YYYY-MM-DD HH:MM' in "
                   "--zone (required unless --cursor)")
    q.add_argument("--until", default="now", help="end, exclusive (same forms; default now: lines "
                   "stamped later than the collector's clock are included and marked 'future')")
    add_filter_arguments(q)
    q.add_argument("-B", "--before", type=int, default=None, metavar="N",
                   help="N lines of the same stream before each hit")
    q.add_argument("-A", "--after", type=int, default=None, metavar="N",
                   help="N lines of the same stream after each hit")
    q.add_argument("-C", "--context", type=int, default=0, metavar="N", help="-B N and -A N")
    q.add_argument("--order", choices=("event", "corrected"), default="event",
                   help="event: by each line's own time (default); corrected: by its time corrected "
                   "for its host's measured clock offset, with the error bound, and lines whose "
                   "order the bounds cannot decide marked")
    q.add_argument("--limit", type=int, default=10_000, help="at most this many hits (default 10000); "
                   "when more match, the command to continue is printed")
    q.add_argument("--cursor", help="continue the query a previous page stopped (printed with it)")
    q.add_argument("--budget", type=float, default=None,
                   help="seconds each page may take at the collector (default: its own limit)")
    output_arguments(q)


def output_arguments(q: argparse.ArgumentParser) -> None:
    q.add_argument("--format", choices=FORMATS, default=None,
                   help="table (default on a terminal), plain (default otherwise), json (one record "
                   "per line), csv")
    q.add_argument("--json", action="store_true", help="same as --format json")


def output_format(args: argparse.Namespace) -> str:
    if args.json:
        return "json"
    if args.format is not None:
        return str(args.format)
    return "table" if sys.stdout.isatty() else "plain"


def filter_params(args: argparse.Namespace) -> list[tuple[str, str]]:
    params = [("host", h) for h in args.host] + [("stream", s) for s in args.stream]
    for name, values in (("grep", args.grep), ("regex", args.regex), ("not", args.exclude),
                         ("not_regex", args.exclude_regex)):
        params += [(name, v) for v in values]
    if args.ignore_case:
        params.append(("i", "1"))
    return params


def _zone(args: argparse.Namespace) -> str:
    try:
        return valid_zone(args.zone)
    except BadTime as e:
        raise UsageError(str(e)) from None


def _selection(args: argparse.Namespace, zone: str) -> list[tuple[str, str]]:
    if args.since is None:
        raise UsageError("--since is required (or --cursor to continue a query)")
    try:
        now = now_us()
        since, notes = parse_when(args.since, now, zone)
        until, more = (None, []) if args.until == "now" else parse_when(args.until, now, zone)
    except BadTime as e:
        raise UsageError(str(e)) from None
    if until is not None and until <= since:
        raise UsageError(f"--until ({to_rfc3339(until, zone)}) must be after --since "
                         f"({to_rfc3339(since, zone)})")
    for note in notes + more:
        print(f"# {note}", file=sys.stderr)
    params = [("since", to_rfc3339(since, "UTC"))]
    if until is not None:
        params.append(("until", to_rfc3339(until, "UTC")))
    before = args.before if args.before is not None else args.context
    after = args.after if args.after is not None else args.context
    if min(before, after) < 0:
        raise UsageError("-A, -B and -C take a number of lines, 0 or more")
    params += [("before", str(before)), ("after", str(after)), ("order", args.order)]
    return params + filter_params(args)


def run_query(api: ApiClient, args: argparse.Namespace) -> int:
    zone = _zone(args)
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if args.budget is not None and args.budget <= 0:
        raise UsageError("--budget must be more than 0 seconds")
    cursor = args.cursor
    if cursor is not None:
        ignored = [f"--{k}" for k in ("since", "host", "stream", "grep", "regex") if getattr(args, k)]
        if ignored:
            print(f"# --cursor continues its own query; {', '.join(ignored)} ignored", file=sys.stderr)
        selection: list[tuple[str, str]] = []
    else:
        selection = _selection(args, zone)
    common = [("zone", zone)] + ([("budget", str(args.budget))] if args.budget is not None else [])
    before_after = args.context or args.before or args.after
    printer = Printer(sys.stdout, output_format(args), corrected=args.order == "corrected",
                      context=bool(before_after))
    remaining = args.limit
    totals = {"hits": 0, "context": 0, "future": 0, "context_missing": 0, "pages": 0}
    damaged: list[dict[str, str]] = []
    first: dict[str, Any] | None = None
    while True:
        params = [*common, ("limit", str(min(remaining, PAGE)))]
        params += [("cursor", cursor)] if cursor is not None else selection
        summary = _page(api, params, printer)
        first = first or summary
        totals["pages"] += 1
        for k in ("hits", "context", "future", "context_missing"):
            totals[k] += int(summary.get(k) or 0)
        damaged += summary.get("damaged") or []
        remaining -= int(summary["hits"])
        cursor = summary.get("cursor")
        # A page that ran out of time goes on at once; one that reached the page size goes on
        # while --limit allows.
        if cursor is None or summary.get("stopped") is None or remaining <= 0:
            break
    sys.stdout.flush()
    _report(first, summary, totals, damaged, cursor if remaining <= 0 else None)
    return 0


def _page(api: ApiClient, params: list[tuple[str, str]], printer: Printer) -> dict[str, Any]:
    summary: dict[str, Any] | None = None
    for item in api.get_ndjson("/v1/query", params):
        if "summary" in item:
            summary = item["summary"]
        else:  # an error line is the client's Failure
            printer.record(item)
    if summary is None:
        raise Failure("the collector's answer ended before its summary line: "
                      "what was shown may be incomplete")
    return summary


def _report(first: dict[str, Any], last: dict[str, Any], totals: dict[str, int],
            damaged: list[dict[str, str]], cursor: str | None) -> None:
    def say(text: str) -> None:
        print(f"# {text}", file=sys.stderr)

    until = first.get("until") or f"now ({first.get('as_of')})"
    lines = totals["hits"] + totals["context"]
    context = f" ({totals['hits']} hits, {totals['context']} context)" if totals["context"] else ""
    say(f"{lines} lines{context} from {first.get('since')} to {until}, times in {first.get('zone')}, "
        f"ordered by {'corrected' if first.get('order') == 'corrected' else 'event'} time")
    if totals["future"]:
        say(f"{totals['future']} lines are stamped after the collector's clock (marked 'future'): "
            "the clock of their host runs ahead")
    if totals["context_missing"]:
        say(f"{totals['context_missing']} context lines the collector holds were not found near their hit")
    for d in damaged:
        say(f"WARNING: damaged and skipped, its lines are missing from this answer: {d['where']}: "
            f"{d['detail']}")
    if cursor is not None:
        say(f"more lines match; continue with: chronolog query --cursor {cursor}")
    elif last.get("stopped") is not None:
        say("incomplete: the collector stopped without a cursor")
