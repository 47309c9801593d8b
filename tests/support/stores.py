"""Building real local stores in tests: a master key outside the data directory, and batches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chronolog.wire import Batch, Chunk, ClockView
from collector.store import StoreEvents
from collector.store.keys import FileMasterKeys
from collector.store.local import LocalStore, StoreConfig

CLOCK = ClockView(reason="test")


def master_keys(root: Path) -> FileMasterKeys:
    """The master key file of ``root``'s store, kept beside (never inside) its data dir."""
    path = root.parent / f"{root.name}.master.key"
    return FileMasterKeys.load(path) if path.exists() else FileMasterKeys.create(path)


def make_store(root: Path, events: StoreEvents | None = None, **config: Any) -> LocalStore:
    """A real `LocalStore` in ``root`` (opened). Segments are built in this process unless
    ``seal_in_subprocess=True`` (a process per store would cost each test a second)."""
    config.setdefault("seal_in_subprocess", False)
    return LocalStore(root, master_keys(root), StoreConfig(**config), events).open()


class RecordedEvents:
    """`StoreEvents` kept in lists, to assert on what a store reported."""

    def __init__(self) -> None:
        self.damage: list[tuple[str, str]] = []
        self.sealed = 0

    def segment_sealed(self, tenant: str, lines: int, raw_bytes: int, stored_bytes: int) -> None:
        self.sealed += 1

    def damage_found(self, tenant: str, where: str, detail: str) -> None:
        self.damage.append((where, detail))

    def segments_expired(self, tenant: str, count: int) -> None:
        pass


def batch(stream: str, seq: int, n: int, host: str = "web-1", agent: str = "a1", t0: int = 1_000,
          text: str | None = None) -> Batch:
    """``n`` lines of ``stream`` numbered from ``seq``; line i has event time ``t0 + seq + i``."""
    msgs = [f"{text or stream} {seq + i}" for i in range(n)]
    chunk = Chunk(stream, seq, 1, CLOCK, msgs, [t0 + seq + i for i in range(n)], ["explicit"] * n, [None] * n)
    return Batch(agent, host, "Asia/Tokyo", 1, [chunk])


def lines(store: LocalStore, tenant: str, since: int = 0, until: int = 2**62,
          hosts: frozenset[str] = frozenset()) -> list[str]:
    """Every stored message of ``tenant`` in the range, sorted."""
    return sorted(m for block in store.scan(tenant, since, until, hosts)
                  for i, m in enumerate(block.msg) if since <= block.ts[i] < until)


def master_key_config(directory: Path) -> str:
    """A ``[collector.keys]`` table naming a master key file beside ``directory`` (made on
    first use), for tests that write a collector configuration of their own."""
    path = directory / "master.key"
    if not path.exists():
        FileMasterKeys.create(path)
    return f'[collector.keys]\nmaster_key_file = "{path}"\n'
