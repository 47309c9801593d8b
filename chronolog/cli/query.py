"""``chronolog query``: lines of every host as one timeline, with filters, context, clock
corrections and pages that never time out.

The collector answers a page at a time (docs/wire.md): a page that runs out of time ends
with a cursor, and this command asks for the next one at once, so a long range simply takes
longer. When ``--limit`` lines are printed and more match, it stops and prints the command
that continues exactly where it stopped (``--cursor``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from chronolog.cli.client import ApiClient
from chronolog.cli.output import FORMATS, Printer
from chronolog.cli.timerange import parse_when
from chronolog.cliutil import Failure, UsageError
from chronolog.timefmt import BadTime, now_us, to_rfc3339, valid_zone

__all__ = ["add_count_parser", "add_filter_arguments", "add_query_parser", "add_selection_arguments",
           "add_tail_parser", "filter_params", "output_format", "run_count", "run_query", "run_tail",
           "selection_params", "zone_of"]

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


def add_selection_arguments(q: argparse.ArgumentParser) -> None:
    """What ``query`` and ``export`` select by: the window, the filters, context, order, limit."""
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


def add_query_parser(sub: Any) -> None:
    q = sub.add_parser("query", help="lines of every host as one timeline, in one zone")
    add_selection_arguments(q)
    q.add_argument("--cursor", help="continue the query a previous page stopped (printed with it)")
    q.add_argument("--budget", type=float, default=None,
                   help="seconds each page may take at the collector (default: its own limit)")
    q.add_argument("--follow", action="store_true",
                   help="after the lines so far, keep printing new ones as they arrive (as tail)")
    output_arguments(q)


def add_tail_parser(sub: Any) -> None:
    t = sub.add_parser("tail", help="new lines of every host as they arrive, with the query's filters")
    t.add_argument("--since", help="first the lines from then (same forms as query --since; default: "
                   "only what arrives from now on)")
    add_filter_arguments(t)
    output_arguments(t)


def add_count_parser(sub: Any) -> None:
    c = sub.add_parser("count", help="lines per time step and host (when did it start, on which hosts)")
    c.add_argument("--since", required=True, help="start (same forms as query --since)")
    c.add_argument("--until", default="now", help="end, exclusive (default now)")
    c.add_argument("--step", required=True, help="bucket size: 30s, 1m, 5m, 1h, 1d, or seconds")
    add_filter_arguments(c)
    c.add_argument("--order", choices=("event", "corrected"), default="event",
                   help="count each line at its own time (default) or its corrected time")
    c.add_argument("--format", choices=("table", "json", "csv"), default=None,
                   help="table (default), json (one count per line), csv")
    c.add_argument("--json", action="store_true", help="same as --format json")


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


def zone_of(args: argparse.Namespace) -> str:
    try:
        return valid_zone(args.zone)
    except BadTime as e:
        raise UsageError(str(e)) from None


def _window(since_text: str | None, until_text: str, zone: str) -> list[tuple[str, str]]:
    """``since`` and ``until`` parameters (``until`` left out for now: open-ended)."""
    if since_text is None:
        raise UsageError("--since is required (or --cursor to continue a query)")
    try:
        now = now_us()
        since, notes = parse_when(since_text, now, zone)
        until, more = (None, []) if until_text == "now" else parse_when(until_text, now, zone)
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
    return params


def selection_params(args: argparse.Namespace, zone: str) -> list[tuple[str, str]]:
    """The API parameters of `add_selection_arguments`' arguments."""
    params = _window(args.since, args.until, zone)
    before = args.before if args.before is not None else args.context
    after = args.after if args.after is not None else args.context
    if min(before, after) < 0:
        raise UsageError("-A, -B and -C take a number of lines, 0 or more")
    params += [("before", str(before)), ("after", str(after)), ("order", args.order)]
    return params + filter_params(args)


def run_query(api: ApiClient, args: argparse.Namespace) -> int:
    zone = zone_of(args)
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
        selection = selection_params(args, zone)
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
    if args.follow:
        if args.until != "now" or args.cursor is not None:
            raise UsageError("--follow goes on from now: it takes no --until or --cursor")
        return _follow(api, [("zone", zone), *filter_params(args)], printer)
    return 0


def run_tail(api: ApiClient, args: argparse.Namespace) -> int:
    zone = zone_of(args)
    params = [("zone", zone), *filter_params(args)]
    if args.since is not None:
        params += _window(args.since, "now", zone)
    return _follow(api, params, Printer(sys.stdout, output_format(args)))


def _follow(api: ApiClient, params: list[tuple[str, str]], printer: Printer) -> int:
    print("# following; Ctrl-C to stop", file=sys.stderr)
    for item in api.get_ndjson("/v1/tail", params):
        if "heartbeat" in item:
            continue
        if "lost" in item:
            print(f"# WARNING: {item.get('detail')}", file=sys.stderr)
            continue
        printer.record(item)
        sys.stdout.flush()
    return 0


_STEP = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _step(text: str) -> int:
    unit = text[-1:] if text[-1:] in _STEP else "s"
    number = text[:-1] if text[-1:] in _STEP else text
    if not number.isdigit() or int(number) < 1:
        raise UsageError(f"--step {text!r}: expected a length such as 30s, 1m, 5m, 1h, 1d")
    return int(number) * _STEP[unit]


def run_count(api: ApiClient, args: argparse.Namespace) -> int:
    zone = zone_of(args)
    step = _step(args.step)
    params = [("zone", zone), ("step", str(step)), ("order", args.order), *filter_params(args)]
    selection = _window(args.since, args.until, zone)
    counts: dict[tuple[str, str], int] = {}
    cursor = None
    first: dict[str, Any] | None = None
    damaged: list[dict[str, str]] = []
    while True:
        page = params + ([("cursor", cursor)] if cursor else selection)
        if cursor:
            page = [p for p in page if p[0] not in ("order", "host", "stream", "grep", "regex", "not",
                                                      "not_regex", "i")]
        summary = None
        for item in api.get_ndjson("/v1/count", page):
            if "summary" in item:
                summary = item["summary"]
            else:
                key = (item["bucket"], item["host"])
                counts[key] = counts.get(key, 0) + int(item["count"])
        if summary is None:
            raise Failure("the collector's answer ended before its summary line: "
                          "the counts may be incomplete")
        first = first or summary
        damaged += summary.get("damaged") or []
        cursor = summary.get("cursor")
        if cursor is None:
            break
    fmt = "json" if args.json else args.format or "table"
    _print_counts(counts, fmt)
    total = sum(counts.values())
    print(f"# {total} lines from {first.get('since')} to {first.get('until') or 'now'} in steps of "
          f"{args.step}, times in {zone}", file=sys.stderr)
    for d in damaged:
        print(f"# WARNING: damaged and skipped, its lines are not counted: {d['where']}: {d['detail']}",
              file=sys.stderr)
    return 0


def _print_counts(counts: dict[tuple[str, str], int], fmt: str) -> None:
    rows = sorted(counts.items())
    if fmt == "json":
        for (bucket, host), n in rows:
            print(json.dumps({"bucket": bucket, "host": host, "count": n}))
        return
    if fmt == "csv":
        print("bucket,host,count")
        for (bucket, host), n in rows:
            print(f"{bucket},{host},{n}")
        return
    hosts = sorted({h for _, h in counts})
    buckets = sorted({b for b, _ in counts})
    widths = [max(len(h), 6) for h in hosts]
    print(" ".join(["step".ljust(32), *(h.rjust(w) for h, w in zip(hosts, widths, strict=True)), "total"]))
    for b in buckets:
        cells = [str(counts.get((b, h), 0)).rjust(w) for h, w in zip(hosts, widths, strict=True)]
        print(" ".join([b.ljust(32), *cells, str(sum(counts.get((b, h), 0) for h in hosts))]))


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
    beyond = last.get("skew_beyond_margin") or first.get("skew_beyond_margin")
    if beyond:
        say(f"WARNING: the clock of {', '.join(beyond)} was off by more than the collector's skew margin: "
            "some of its lines may belong in this window and are not shown (widen the window)")
    for d in damaged:
        say(f"WARNING: damaged and skipped, its lines are missing from this answer: {d['where']}: "
            f"{d['detail']}")
    if cursor is not None:
        say(f"more lines match; continue with: chronolog query --cursor {cursor}")
    elif last.get("stopped") is not None:
        say("incomplete: the collector stopped without a cursor")
