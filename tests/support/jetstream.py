"""JetStream stores on a test's NATS cluster (support/nats.py), as several collectors hold them;
and real collector processes over it."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from collector.store.jetstream.config import JetStreamConfig, Location
from collector.store.jetstream.store import JetStreamStore
from collector.store.keys import FileMasterKeys
from collector.store.tenant import SealSettings
from support.fleet import Fleet
from support.nats import NatsCluster
from support.processes import Daemon, free_port
from support.stores import RecordedEvents

__all__ = ["jetstream_tables", "second_collector", "stores"]

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


def jetstream_tables(nats: NatsCluster) -> str:
    return ('[collector.store]\nbackend = "jetstream"\nsegment_max_age = 2.0\n'
            f"[collector.store.jetstream]\nservers = {json.dumps(nats.urls)}\n"
            f"monitor_urls = {json.dumps(nats.monitor_urls)}\n"
            "lease_seconds = 3.0\nwrite_deadline = 20.0\nack_timeout = 2.0\n"
            '[collector.store.jetstream.location]\ncountry = "JP"\nregion = "Tokyo"\n')


def second_collector(fleet: Fleet, root: Path, daemons: Callable[[str, Path, Path], Daemon],
                     copied: tuple[str, ...] = ("credentials.json",)) -> str:
    """Collector B: A's configuration (same cluster, same master key) with its own data_dir and
    port, and A's credentials (docs/scale-out.md: copied to every collector), or the files of
    A's data_dir named in ``copied`` (``admins.json``: its administrators)."""
    root.mkdir()
    port = free_port()
    text = fleet.config.read_text().replace(str(fleet.root / "store"), str(root / "store"))
    text = text.replace(f'listen = "127.0.0.1:{fleet.url.rsplit(":", 1)[1]}"', f'listen = "127.0.0.1:{port}"')
    config = root / "collector.toml"
    config.write_text(text)
    (root / "store").mkdir(mode=0o700)
    for name in copied:
        shutil.copy2(fleet.root / "store" / name, root / "store" / name)
    daemons("chronolog-collector", config, root).start()
    return f"http://127.0.0.1:{port}"
