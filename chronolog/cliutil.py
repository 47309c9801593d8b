"""What the three commands share: one-line errors and their exit statuses.

2 is a usage or configuration mistake, 1 a failure at run time (a port in use, an unreadable
directory, a collector that refuses), 130 an interrupt. Never a traceback for any of them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

__all__ = ["ArgumentParser", "ConfigError", "Failure", "UsageError", "run_command"]


class ConfigError(Exception):
    """A configuration that cannot be used (`chronolog.config_loading`): exit status 2.
    ``str(error)`` is the message for the user. Defined here, not beside the loader, so that
    the commands that never read a configuration (``chronolog``) need not import pydantic."""


class UsageError(Exception):
    """A command-line mistake: exit status 2."""


class Failure(Exception):
    """A failure at run time, already phrased for the user: exit status 1."""


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
