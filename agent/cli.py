"""``chronolog-agent``: run the agent, check its configuration, show how lines' timestamps
are read, or show the clock's state."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path

from agent.app import serve
from agent.clock import command as clock_command
from agent.config import load_config
from agent.parse import parse_lines
from agent.status import fetch_status, render_status
from chronolog.cliutil import ArgumentParser, Failure, UsageError, run_command
from chronolog.clock.servers import parse_server
from chronolog.logs import setup_logging
from chronolog.timefmt import BadTime, now_us, parse_rfc3339, resolve_zone, valid_zone
from chronolog.timestamps import DEFAULT_FUTURE_TOLERANCE, MAX_FUTURE_TOLERANCE, FormatError, Normalizer
from chronolog.tls import profile_path, reexec_under_policy

PROG = "chronolog-agent"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="The chronolog agent: one per host.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run the agent until SIGTERM or Ctrl-C")
    run.add_argument("-c", "--config", type=Path, help="configuration file (default: embedded defaults)")
    run.add_argument("--ready-file", type=Path, help="write where it listens here, as JSON, once ready")
    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("file", type=Path)
    parse = sub.add_parser(
        "parse", help="read lines on stdin; write how each one's timestamp is read, as JSON lines",
        description="Each line on stdin becomes a JSON object on stdout: ts (RFC 3339 in --zone), "
        "ts_source, ts_flags, ts_raw, ts_format, read_time, line_flags, msg.",
    )
    parse.add_argument("--zone", default="Asia/Tokyo", help="zone ts is shown in (default: %(default)s)")
    parse.add_argument("--source-zone", default="local",
                       help="zone of times written without an offset (default: this host's zone)")
    parse.add_argument("--read-time", metavar="RFC3339",
                       help="when the lines were read, e.g. 2026-11-27T09:14:03+09:00 "
                       "(default: now, per line)")
    parse.add_argument("--format", metavar="FMT", help="a declared strftime-style format (default: detect)")
    parse.add_argument("--explain", action="store_true",
                       help="add to each record why its time was read so: the layout used and why it "
                       "won, and the candidate layouts the source rejected")
    parse.add_argument("--future-tolerance", metavar="SECONDS", type=float, default=DEFAULT_FUTURE_TOLERANCE,
                       help="how far after the read time an inferred year may put an event "
                       "(default: %(default)s)")
    clock = sub.add_parser(
        "clock", help="audit the clock and read the time daemon; exit 0 within budget, 1 over, 2 unknown")
    clock.add_argument("-c", "--config", type=Path, help="configuration file (default: embedded defaults)")
    clock.add_argument("--once", action="store_true", help="one audit, then exit (default: keep auditing)")
    clock.add_argument("--json", action="store_true", help="the full view as JSON")
    clock.add_argument("--server", action="append", metavar="HOST[:PORT]",
                       help="audit against this server instead of the configured ones (repeatable)")
    status = sub.add_parser("status", help="per stream: lines read, spooled, acknowledged, dropped")
    status.add_argument("-c", "--config", type=Path, help="the agent's configuration (for metrics.listen)")
    status.add_argument("--url", help="the agent's metrics base URL, e.g. http://127.0.0.1:9471")
    status.add_argument("--json", action="store_true", help="print the status document as JSON")
    return p


def _status(config: Path | None, url: str | None, as_json: bool) -> int:
    if url is None:
        metrics = load_config(config).metrics
        if not metrics.enabled:
            raise UsageError("metrics are disabled in this configuration, so there is no status "
                             "endpoint; pass --url")
        url = f"http://{metrics.listen}"
    try:
        status = fetch_status(url)
    except (OSError, ValueError) as e:
        raise Failure(str(e)) from None
    print(status.model_dump_json(indent=2) if as_json else render_status(status))
    return 0


def _clock(args: argparse.Namespace) -> int:
    config = load_config(args.config).clock
    setup_logging("error")  # what happened is in the report; keep stderr for failures
    if args.server:
        for server in args.server:
            try:
                parse_server(server)
            except ValueError as e:
                raise UsageError(f"--server: {e}") from None
        config = config.model_copy(update={"servers": list(args.server)})
    if args.once:
        report = asyncio.run(clock_command.check_once(config))
        print(clock_command.render(report, args.json))
        return clock_command.exit_status(report)
    asyncio.run(clock_command.watch(config, lambda r: print(clock_command.render(r, args.json), flush=True)))
    return 0


def _parse(args: argparse.Namespace) -> int:
    try:
        zone = valid_zone(args.zone)
    except BadTime as e:
        raise UsageError(f"--zone: {e}") from None
    try:
        source_zone = resolve_zone(args.source_zone)
    except BadTime as e:
        raise UsageError(f"--source-zone: {e}") from None
    try:
        fixed = parse_rfc3339(args.read_time) if args.read_time is not None else None
    except BadTime as e:
        raise UsageError(f"--read-time: {e}") from None
    if not 0 <= args.future_tolerance <= MAX_FUTURE_TOLERANCE:
        raise UsageError(f"--future-tolerance {args.future_tolerance:g}: expected 0 to "
                         f"{MAX_FUTURE_TOLERANCE:.0f} seconds")
    try:
        normalizer = Normalizer(source_zone, args.future_tolerance, args.format)
    except FormatError as e:
        raise UsageError(f"--format: {e}") from None
    try:
        parse_lines(sys.stdin.buffer, sys.stdout.buffer, normalizer, zone,
                    (lambda: fixed) if fixed is not None else now_us, args.explain)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as other filters do.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def main(argv: list[str] | None = None) -> int:
    def body() -> int:
        args = build_parser().parse_args(argv)
        if args.command == "parse":
            return _parse(args)
        if args.command == "status":
            return _status(args.config, args.url, args.json)
        if args.command == "clock":
            return _clock(args)
        if args.command == "check-config":
            load_config(args.file)
            print(f"{args.file}: ok")
            return 0
        config = load_config(args.config)
        link = config.collector
        if link.tls and argv is None:  # only as a real entry point: it replaces the process
            reexec_under_policy(link.openssl_conf or profile_path(link.tls_level))
        setup_logging(config.log_level)
        asyncio.run(serve(config, args.ready_file))
        return 0

    return run_command(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
