"""``chronolog-collector``: run the collector, check its configuration, manage credentials."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from chronolog.cliutil import ArgumentParser, Failure, run_command
from chronolog.logs import setup_logging
from collector.app import credentials_path, serve
from collector.auth.credentials import ROLES, CredentialError, CredentialStore
from collector.config import load_config

PROG = "chronolog-collector"


def _parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="The chronolog collector.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the collector until SIGTERM or Ctrl-C")
    run.add_argument("-c", "--config", type=Path, help="configuration file (default: embedded defaults)")
    run.add_argument("--ready-file", type=Path, help="write where it listens here, as JSON, once ready")

    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("file", type=Path)

    cred = sub.add_parser("credentials", help="issue, list and revoke bearer tokens")
    cred.add_argument("-c", "--config", type=Path, help="configuration file (default: embedded defaults)")
    csub = cred.add_subparsers(dest="action", required=True, metavar="ACTION")
    issue = csub.add_parser("issue", help="issue a token; it is shown once")
    issue.add_argument("--tenant", required=True)
    issue.add_argument("--role", required=True, choices=ROLES)
    issue.add_argument("--name", required=True, help="who or what holds it, e.g. the host name")
    issue.add_argument("--token-file", type=Path,
                       help="write the token to this new file (mode 0600) instead of stdout")
    csub.add_parser("list", help="list credentials (never the tokens)")
    revoke = csub.add_parser("revoke", help="revoke a credential by id")
    revoke.add_argument("id")
    return p


def _credentials(args: argparse.Namespace) -> int:
    config = load_config(getattr(args, "config", None))
    store = CredentialStore(credentials_path(config))
    action = args.action
    try:
        if action == "issue":
            token_file: Path | None = args.token_file
            if token_file is not None and token_file.exists():
                raise Failure(f"{token_file} already exists; not overwriting a token")
            cid, token = store.issue(args.tenant, args.role, args.name)
            if token_file is None:
                print(token)
            else:
                fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(token + "\n")
            print(f"issued {cid}", file=sys.stderr)
        elif action == "list":
            for entry in store.entries():
                state = f"revoked {entry['revoked']}" if entry["revoked"] else "live"
                print(f"{entry['id']}\t{entry['tenant']}\t{entry['role']}\t{entry['name']}\t{state}")
        else:
            store.revoke(args.id)
            print(f"revoked {args.id}", file=sys.stderr)
    except CredentialError as e:
        raise Failure(str(e)) from None
    return 0


def main(argv: list[str] | None = None) -> int:
    def body() -> int:
        args = _parser().parse_args(argv)
        if args.command == "check-config":
            load_config(args.file)
            print(f"{args.file}: ok")
            return 0
        if args.command == "credentials":
            return _credentials(args)
        config = load_config(args.config)
        setup_logging(config.log_level)
        asyncio.run(serve(config, args.ready_file))
        return 0

    return run_command(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
