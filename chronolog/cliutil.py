"""What the three commands share: one-line errors and their exit statuses.

2 is a usage or configuration mistake, 1 a failure at run time (a port in use, an unreadable
directory, a collector that refuses), 130 an interrupt. Never a traceback for any of them.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["ArgumentParser", "ConfigError", "Failure", "Option", "UsageError", "accept_anywhere",
           "new_password", "run_command", "subparsers"]


class ConfigError(Exception):
    """A configuration that cannot be used (`chronolog.config_loading`): exit status 2.
    ``str(error)`` is the message for the user. Defined here, beside the other exit statuses,
    so that reporting one does not import the loader (pydantic)."""


class UsageError(Exception):
    """A command-line mistake: exit status 2."""


class Failure(Exception):
    """A failure at run time, already phrased for the user: exit status 1."""


def new_password(from_stdin: bool, whose: str) -> str:
    """A new account's password: the first line of stdin, or asked twice (``whose``: for whom)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"password for the new {whose}: ")
    if getpass.getpass("again: ") != first:
        raise UsageError("the two passwords differ")
    return first


def run_command(prog: str, body: Callable[[], int]) -> int:
    try:
        return body()
    except (ConfigError, UsageError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    except Failure as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        where = f" {e.filename}" if e.filename else ""
        print(f"{prog}:{where} {e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad command line as `UsageError` (one line, status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        namespace, extras = super().parse_known_args(args, namespace)
        # The innermost subcommand returns first: remember it, so that a stray argument is
        # reported against the subcommand whose --help lists what it takes.
        if not hasattr(namespace, "_innermost_prog"):
            namespace._innermost_prog = self.prog
        return namespace, extras

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        namespace, extras = self.parse_known_args(args, namespace)
        prog = vars(namespace).pop("_innermost_prog", self.prog)
        if extras:
            raise UsageError(f"unrecognized arguments: {' '.join(extras)} (see '{prog} --help')")
        return namespace


# An option as ``add_argument`` takes it: its flags and keyword arguments.
Option = tuple[tuple[str, ...], dict[str, Any]]


def accept_anywhere(root: argparse.ArgumentParser, options: Sequence[Option]) -> None:
    """Add ``options`` to ``root`` and to every subcommand under it, so that an operator may
    write them before or after the subcommand (``keys init --config F`` as well as
    ``--config F keys init``). Call it once the whole tree is built.

    Under a subcommand an option has no default of its own (``SUPPRESS``): argparse copies a
    subcommand's values over the parent's, and a default there would undo a value given
    before the subcommand. A subcommand that already has one of the flags keeps its own
    meaning for it (``chronolog admin credentials issue --token-file`` is where the new
    token goes)."""
    for flags, kwargs in options:
        root.add_argument(*flags, **kwargs)
    for sub in subparsers(root):
        taken = sub._option_string_actions  # argparse keeps its flags only here
        for flags, kwargs in options:
            if not any(flag in taken for flag in flags):
                sub.add_argument(*flags, **{**kwargs, "default": argparse.SUPPRESS})


def subparsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every subcommand's parser under ``parser``, depth first."""
    for action in parser._actions:  # argparse offers no public way to walk its tree
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                yield sub
                yield from subparsers(sub)
