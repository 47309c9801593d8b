"""``chronolog``: query the collector as one timeline across hosts, export evidence and check it
offline (``export``, ``verify-export``); administer it (``admin``)."""

from __future__ import annotations

import argparse
import os
import ssl
import sys
from pathlib import Path

from chronolog.cli import session
from chronolog.cli.admin import add_admin_parser, run_admin
from chronolog.cli.audit import add_audit_parser, run_audit
from chronolog.cli.client import ApiClient
from chronolog.cli.evidence import add_export_parser, add_verify_export_parser, run_export, run_verify_export
from chronolog.cli.fleet import add_fleet_parsers, run_hosts, run_streams
from chronolog.cli.query import (
    add_count_parser,
    add_query_parser,
    add_tail_parser,
    run_count,
    run_query,
    run_tail,
)
from chronolog.cli.settings import DEFAULT_URL, ClientConfig, config_path, load_settings
from chronolog.cliutil import ArgumentParser, Failure, Option, UsageError, accept_anywhere, run_command
from chronolog.tls import LEVELS, client_context, profile_path, reexec_under_policy

PROG = "chronolog"


def global_options(settings: ClientConfig) -> list[Option]:
    """The command's own options, accepted before or after the subcommand. Their defaults are
    read when the parser is built: the environment, then the client configuration file
    (chronolog/cli/settings.py)."""
    env = os.environ.get
    return [
        (("--url",), {"default": env("CHRONOLOG_URL", settings.url),
                      "help": f"collector base URL (env CHRONOLOG_URL; default {DEFAULT_URL})"}),
        (("--token-file",), {"type": Path, "default": env("CHRONOLOG_TOKEN_FILE", settings.token_file),
                             "help": "file holding an investigator (or, for admin, an admin) token "
                             "(env CHRONOLOG_TOKEN_FILE)"}),
        (("--ca-file",), {"type": Path, "default": env("CHRONOLOG_CA_FILE", settings.ca_file),
                          "help": "CA of the collector's certificate for https (env CHRONOLOG_CA_FILE; "
                          "default: the system's trusted CAs)"}),
        (("--tls-level",), {"choices": LEVELS, "default": env("CHRONOLOG_TLS_LEVEL", settings.tls_level),
                            "help": "CRYPTREC TLS suite level for https (default high)"}),
        (("--client-cert",), {"type": Path, "default": env("CHRONOLOG_CLIENT_CERT", settings.client_cert),
                              "help": "client certificate for mutual TLS (an administrator's, with its "
                              "admin token as --token-file: the second way to administer) "
                              "(env CHRONOLOG_CLIENT_CERT)"}),
        (("--client-key",), {"type": Path, "default": env("CHRONOLOG_CLIENT_KEY", settings.client_key),
                             "help": "its private key (env CHRONOLOG_CLIENT_KEY)"}),
        (("--session-file",), {"type": Path, "default": None,
                               "help": "where `admin login` keeps the session (env CHRONOLOG_SESSION_FILE; "
                               "default $XDG_RUNTIME_DIR/chronolog/session or ~/.cache/chronolog/session)"}),
    ]


def build_parser(settings: ClientConfig | None = None) -> ArgumentParser:
    """The command line; option defaults from ``settings`` (default: the client configuration
    file's, chronolog/cli/settings.py)."""
    p = ArgumentParser(prog=PROG, description="Query chronolog's collector.",
                       epilog=f"Settings file: {config_path()[0]} ([client] table; env CHRONOLOG_CONFIG).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add_query_parser(sub)
    add_tail_parser(sub)
    add_count_parser(sub)
    add_export_parser(sub)
    add_verify_export_parser(sub)
    add_fleet_parsers(sub)
    add_audit_parser(sub)
    add_admin_parser(sub)
    accept_anywhere(p, global_options(settings if settings is not None else load_settings()))
    return p


def _tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    if (args.client_cert is None) != (args.client_key is None):
        raise UsageError("--client-cert and --client-key go together")
    if not args.url.startswith("https://"):
        if args.client_cert is not None:
            raise UsageError("--client-cert needs an https:// --url (mutual TLS is TLS)")
        return None
    try:
        return client_context(args.tls_level, args.ca_file, args.client_cert, args.client_key)
    except (OSError, ssl.SSLError) as e:
        raise Failure(f"cannot set up TLS: {e}") from None


def _token(args: argparse.Namespace) -> str:
    try:
        return Path(args.token_file).read_text(encoding="utf-8").strip()
    except OSError as e:
        raise Failure(f"cannot read token file {args.token_file}: {e.strerror}") from None


def _client(args: argparse.Namespace) -> ApiClient:
    if args.token_file is None:
        raise UsageError("no credential: pass --token-file FILE, set CHRONOLOG_TOKEN_FILE, or set "
                         f"token_file in the [client] table of {config_path()[0]}")
    return ApiClient(args.url, _token(args), ssl_context=_tls(args))


def _session_path(args: argparse.Namespace) -> Path:
    return Path(args.session_file) if args.session_file is not None else session.default_path()


def _admin_client(args: argparse.Namespace, login: bool = False) -> ApiClient:
    """An administrator's client: the session kept by `admin login` (for this --url), else an
    admin token (with, over mutual TLS, the admin's --client-cert: the other two factors)."""
    if login:
        return ApiClient(args.url, None, ssl_context=_tls(args))
    kept = session.load(_session_path(args), args.url)
    if kept is not None:
        return ApiClient(args.url, str(kept["session"]), ssl_context=_tls(args))
    if args.token_file is not None:
        return ApiClient(args.url, _token(args), ssl_context=_tls(args))
    raise UsageError("not logged in: run `chronolog admin login` (password and TOTP code), or give an "
                     "admin --client-cert/--client-key together with an admin --token-file")


def main(argv: list[str] | None = None) -> int:
    def body() -> int:
        args = build_parser().parse_args(argv)
        if args.url.startswith("https://") and argv is None:  # a real entry point: it re-executes
            reexec_under_policy(profile_path(args.tls_level))
        if args.command == "admin":
            return run_admin(_admin_client(args, login=args.admin_command == "login"), args,
                             _session_path(args))
        if args.command == "audit":
            kept = session.load(_session_path(args), args.url)
            return run_audit(_admin_client(args) if kept is not None else _client(args), args)
        commands = {"query": run_query, "tail": run_tail, "count": run_count, "export": run_export}
        if args.command in commands:
            return commands[args.command](_client(args), args)
        if args.command == "verify-export":
            return run_verify_export(args)
        if args.command == "hosts":
            return run_hosts(_client(args), args)
        return run_streams(_client(args))

    return run_command(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
