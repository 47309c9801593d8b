"""``chronolog-agent``: run the agent, or check its configuration."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from agent.app import serve
from agent.config import load_config
from chronolog.cliutil import ArgumentParser, run_command
from chronolog.logs import setup_logging
from chronolog.tls import profile_path, reexec_under_policy

PROG = "chronolog-agent"


def _parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="The chronolog agent: one per host.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run the agent until SIGTERM or Ctrl-C")
    run.add_argument("-c", "--config", type=Path, help="configuration file (default: embedded defaults)")
    run.add_argument("--ready-file", type=Path, help="write where it listens here, as JSON, once ready")
    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("file", type=Path)
    return p


def main(argv: list[str] | None = None) -> int:
    def body() -> int:
        args = _parser().parse_args(argv)
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
