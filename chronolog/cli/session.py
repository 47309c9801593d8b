"""Where ``chronolog admin login`` keeps the administrator's session between commands.

One JSON file, mode 0600 in a 0700 directory: ``$CHRONOLOG_SESSION_FILE``, else
``$XDG_RUNTIME_DIR/chronolog/session`` (a per-user tmpfs that logging out of the host clears),
else ``~/.cache/chronolog/session``. It holds the session token, the collector it is for and
when it expires; a session for another collector, or past its expiry, is not used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from chronolog.fsutil import atomic_write
from chronolog.timefmt import BadTime, now_us, parse_rfc3339

__all__ = ["default_path", "forget", "load", "save"]


def default_path() -> Path:
    explicit = os.environ.get("CHRONOLOG_SESSION_FILE")
    if explicit:
        return Path(explicit)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "chronolog" / "session"
    return Path.home() / ".cache" / "chronolog" / "session"


def save(path: Path, url: str, answer: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    doc = {"url": url.rstrip("/"), "session": answer["session"], "user": answer["user"],
           "scope": answer["scope"], "expires": answer["expires"]}
    atomic_write(path, json.dumps(doc).encode(), mode=0o600)


def load(path: Path, url: str) -> dict[str, Any] | None:
    """The session for ``url`` if one is kept and not expired, else None."""
    try:
        doc = json.loads(path.read_text())
        expires = parse_rfc3339(str(doc["expires"]))
    except (OSError, ValueError, KeyError, TypeError, BadTime):
        return None
    if not isinstance(doc, dict) or doc.get("url") != url.rstrip("/") or expires <= now_us():
        return None
    return doc


def forget(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
