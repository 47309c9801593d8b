"""NTP server names as configured: ``host``, ``host:port`` or ``[v6]:port``."""

from __future__ import annotations

__all__ = ["parse_server"]


def parse_server(text: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` into host and port (default 123)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "123"
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, "123"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST or HOST:PORT, got {text!r}")
    return host, int(port)
