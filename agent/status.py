"""The document of ``GET /status`` on the agent's loopback metrics listener (`agent.endpoints`),
and its rendering for ``chronolog-agent status``.

The document is built from frozen snapshots (the ledger's `StreamLedger`, the spool's
`SpoolReport`), never from the components' internals.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, ValidationError

from agent.delivery.ledger import StreamLedger
from agent.delivery.spool import SpoolReport

__all__ = ["AgentStatus", "build_status", "fetch_status", "render_status", "status_document"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SpoolStatus(_Frozen):
    batches: int
    bytes: int
    max_bytes: int
    when_full: str
    oldest_age_s: float | None


class AgentStatus(_Frozen):
    agent: str
    host: str
    queued_bytes: int
    spool: SpoolStatus | None
    streams: list[StreamLedger]


def build_status(agent: str, host: str, queued_bytes: int, ledger: tuple[StreamLedger, ...],
                 spool: SpoolReport | None, now: float) -> AgentStatus:
    """Pure: the status document from snapshots taken at ``now`` (seconds since the epoch)."""
    spool_status = None
    if spool is not None:
        age = None if spool.oldest_created is None else round(max(0.0, now - spool.oldest_created / 1e6), 3)
        spool_status = SpoolStatus(batches=spool.batches, bytes=spool.bytes, max_bytes=spool.max_bytes,
                                   when_full=spool.when_full, oldest_age_s=age)
    return AgentStatus(agent=agent, host=host, queued_bytes=queued_bytes, spool=spool_status,
                       streams=list(ledger))


def status_document(snapshot: Callable[[float], AgentStatus]) -> Callable[[], tuple[bytes, str]]:
    """The ``/status`` route: the snapshot taken now, as JSON."""

    def document() -> tuple[bytes, str]:
        return snapshot(time.time()).model_dump_json().encode(), "application/json"

    return document


def render_status(status: AgentStatus) -> str:
    """The status as text for a terminal: one line per stream, then the spool."""
    lines = [f"agent {status.agent} on {status.host}; {status.queued_bytes} bytes queued in memory"]
    header = ("stream", "read", "truncated", "spooled", "acked", "dropped")
    rows = [header]
    for s in status.streams:
        dropped = ", ".join(f"{r}={n}" for r, n in sorted(s.dropped.items())) or "0"
        rows.append((s.stream, str(s.read), str(s.truncated), str(s.spooled), str(s.acked), dropped))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])
    spool = status.spool
    if spool is None:
        lines.append("spool: off")
    else:
        age = "empty" if spool.oldest_age_s is None else f"oldest {spool.oldest_age_s:.1f} s"
        lines.append(f"spool: {spool.batches} batches, {spool.bytes} of {spool.max_bytes} bytes, "
                     f"{age}, when full: {spool.when_full}")
    return "\n".join(lines)


def fetch_status(base_url: str, timeout: float = 5.0) -> AgentStatus:
    """``GET base_url/status`` from a running agent. Raises OSError or ValueError, phrased."""
    url = base_url.rstrip("/") + "/status"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http only)
            body = response.read()
    except urllib.error.URLError as e:
        reason = getattr(e, "reason", e)
        raise OSError(f"cannot reach the agent at {url}: {reason}") from None
    try:
        return AgentStatus.model_validate_json(body)
    except ValidationError:
        raise ValueError(f"{url} did not answer with an agent status") from None
