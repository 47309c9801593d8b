"""Structured logging for both processes: one logfmt line per event on stderr.

Call sites pass fields through ``extra``: ``log.info("batch acked", extra={"lines": n})``
becomes ``ts=... level=info logger=agent.delivery msg="batch acked" lines=1000``.
"""

from __future__ import annotations

import logging
import sys
import time

__all__ = ["LogfmtFormatter", "setup_logging"]

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def _quote(value: object) -> str:
    text = str(value)
    if text and not any(c in text for c in ' ="\\\n\t'):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
        ms = int(record.msecs)
        zone = time.strftime("%z", time.localtime(record.created))
        parts = [
            f"ts={ts}.{ms:03d}{zone[:3]}:{zone[3:]}",
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
            f"msg={_quote(record.getMessage())}",
        ]
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                parts.append(f"{key}={_quote(value)}")
        if record.exc_info and record.levelno >= logging.ERROR:
            parts.append(f"error={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


def setup_logging(level: str = "info") -> None:
    """Send every logger's records to stderr as logfmt at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
