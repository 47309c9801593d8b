"""A tenant's WAL stream messages after a sequence, in order, many per request: an ephemeral
pull consumer (in memory, one replica, no acknowledgements, deleted after) fetched in
batches. The stream's get API answers one message per request, base64 in JSON: about 15 ms
per 1 MiB message on the 2-core test machine, and most of a seal's time after a burst."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

__all__ = ["read_after"]

_BATCH = 16  # messages per pull request, each up to max_payload


async def read_after(js: JetStreamContext, stream: str, subject: str, after: int, timeout: float,
                     keep: Callable[[int, bytes], None], enough: Callable[[], bool],
                     batch: int = _BATCH) -> None:
    """Hand ``keep(sequence, data)`` the messages of ``subject`` after sequence ``after``, in
    order, until ``enough()`` or the last one there was when this started; ``batch`` messages
    per request (more for small ones)."""
    name = f"read-{secrets.token_hex(8)}"
    info = await js.add_consumer(stream, ConsumerConfig(
        name=name, filter_subject=subject, deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=after + 1, ack_policy=AckPolicy.NONE, mem_storage=True, num_replicas=1,
        inactive_threshold=60.0))  # the server drops it if this collector dies first
    try:
        left = info.num_pending or 0
        if not left:
            return
        sub = await js.pull_subscribe_bind(consumer=name, stream=stream)
        try:
            while left > 0 and not enough():
                for msg in await sub.fetch(min(batch, left), timeout=timeout):
                    meta = msg.metadata
                    keep(meta.sequence.stream, msg.data)
                    # A message purged meanwhile is never delivered: the server's count says so.
                    left = min(left - 1, meta.num_pending)
        finally:
            await sub.unsubscribe()
    finally:
        with contextlib.suppress(Exception):
            await js.delete_consumer(stream, name)
