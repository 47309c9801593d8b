"""The ``config`` stream: at every start, the agent's effective configuration, its digest and
what changed since its previous start, as one record shipped to the collector (issue 16; seed
#6), so a change that widens exposure (metrics beyond loopback, TLS to the collector off, the
collector's CA no longer pinned, a weaker TLS level, syslog listening) is kept and protected
like any log line, and not only on the host that changed.

Like the ``clock`` stream it is generated: spooled (fsync'd) before it is sent, numbered past
the checkpoint's ``high_seq``. The configuration last reported is kept in
``state_dir/config.json``; it is replaced once the record is queued (a SIGKILL in the short
moment before the spool write loses that one record, as for the clock stream).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson

from agent.config import AgentConfig
from agent.delivery import Mark, Pending
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from chronolog.config_audit import (
    Rule,
    changes,
    digest,
    leaves_loopback,
    switched_on,
    turned_off,
    weaker_level,
    widened,
)
from chronolog.fsutil import atomic_write
from chronolog.timefmt import now_us
from chronolog.timestamps import EXPLICIT
from chronolog.wire import Chunk, ClockView

__all__ = ["RULES", "STREAM", "queue_start_record", "start_record"]

log = logging.getLogger("agent")

STREAM = "config"


def _plain(before: Any, after: Any) -> bool:
    return str(before).startswith("https://") and not str(after).startswith("https://")


RULES: list[Rule] = [
    ("metrics.listen", leaves_loopback, "the agent's metrics now listen beyond loopback"),
    ("syslog.enabled", switched_on, "the agent now receives syslog"),
    ("syslog.udp", leaves_loopback, "syslog over UDP now listens beyond loopback"),
    ("syslog.tcp", leaves_loopback, "syslog over TCP now listens beyond loopback"),
    ("collector.url", _plain, "lines now go to the collector without TLS"),
    ("collector.ca_file", turned_off, "the collector's CA is no longer pinned (any system CA is trusted)"),
    ("collector.tls_level", weaker_level, "a weaker TLS level"),
]


def start_record(effective: dict[str, Any], previous: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The record's line and fields for a start with ``effective`` after ``previous`` (pure)."""
    found = changes(previous, effective)
    wide = widened(found, RULES)
    now = digest(effective)
    if previous is None:
        msg = f"config: first start, configuration {now[:12]}"
    else:
        listed = "; ".join(f"{c.key} {c.before!r} -> {c.after!r}" for c in found) or "no change"
        msg = f"config: start, configuration {now[:12]} ({len(found)} change(s): {listed})"
    if wide:
        msg += "; widens exposure: " + "; ".join(w["why"] for w in wide)
    fields = {"kind": "config", "digest": now, "previous": None if previous is None else digest(previous),
              "changes": [{"setting": c.key, "before": c.before, "after": c.after} for c in found],
              "widened": wide}
    return msg, fields


async def queue_start_record(config: AgentConfig, queue: BatchQueue, checkpoints: Checkpoints,
                             clock: ClockView) -> None:
    """Queue this start's record, then remember the configuration it reported."""
    effective = config.model_dump(mode="json")
    kept = config.state_dir / "config.json"
    previous = _previous(kept)
    msg, fields = start_record(effective, previous)
    for w in fields["widened"]:
        log.warning("configuration widens exposure", extra={"setting": w["setting"], "why": w["why"]})
    state = checkpoints.get(STREAM)
    seq = max(state.next_seq, state.high_seq)
    now = now_us()
    chunk = Chunk(STREAM, seq, now, clock, [msg], [now], [EXPLICIT], [None], fields=[(0, fields)])
    await queue.put(Pending(chunk, Mark(STREAM, seq + 1, {}), len(msg) + 1024, generated=True))
    atomic_write(kept, orjson.dumps(effective, option=orjson.OPT_SORT_KEYS), mode=0o600)


def _previous(path: Path) -> dict[str, Any] | None:
    try:
        doc = orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) else None
