"""This collector's name among the collectors of a cluster: made once, ``<host>-<6 hex
digits>``, and kept in ``data_dir/collector-name``, so that it stays across restarts and host
renames and two collectors on one host differ. Its audit trail's copy (admin/audit_copy.py) and
its failed-login records (auth/failures.py) are kept under it. One NATS subject token."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from chronolog.fsutil import atomic_write

__all__ = ["NAME_FILE", "collector_name"]

NAME_FILE = "collector-name"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def collector_name(data_dir: Path) -> str:
    """This collector's name: read, or made once (raises ValueError for a damaged file)."""
    path = data_dir / NAME_FILE
    try:
        name = path.read_text().strip()
    except FileNotFoundError:
        host = re.sub(r"[^a-z0-9_-]+", "-", os.uname().nodename.lower()).strip("-_")[:40] or "collector"
        name = f"{host}-{secrets.token_hex(3)}"
        atomic_write(path, name.encode() + b"\n")
        return name
    if not _NAME.fullmatch(name):
        raise ValueError(f"{path}: {name!r} is not a collector name (lower-case letters, digits, "
                         "'-' and '_', at most 64); remove the file to make a new one")
    return name
