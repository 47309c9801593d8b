"""JetStream stores on a test's NATS cluster (support/nats.py), as several collectors hold them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from collector.store.jetstream.config import JetStreamConfig, Location
from collector.store.jetstream.store import JetStreamStore
from collector.store.keys import FileMasterKeys
from collector.store.tenant import SealSettings
from support.nats import NatsCluster
from support.stores import RecordedEvents

__all__ = ["stores"]

_PREFIXES = iter(range(1000))


@contextlib.contextmanager
def stores(cluster: NatsCluster, tmp_path: Path, count: int = 2, seal: SealSettings | None = None,
           sealers: int = 0, **config: object) -> Iterator[list[JetStreamStore]]:
    """``count`` stores on the cluster, each with its own cache, all with the same master key;
    a prefix of their own, so that tests sharing the cluster never meet. Segments are prepared
    in the test's process, or with ``sealers`` in that many sealer processes each."""
    master = FileMasterKeys.create(tmp_path / "master.key")
    settings = JetStreamConfig(servers=cluster.urls, location=Location(country="JP", region="Tokyo"),
                               placement_tags=["country:jp"], prefix=f"t{next(_PREFIXES)}",
                               lease_seconds=3, **config)  # type: ignore[arg-type]
    seal = seal or SealSettings(segment_max_age=3600)
    opened = [JetStreamStore(settings, master, tmp_path / f"cache{i}", seal, sealers=max(sealers, 1),
                             seal_in_subprocess=sealers > 0, events=RecordedEvents()).open()
              for i in range(count)]
    try:
        yield opened
    finally:
        for store in opened:
            store.close()
