"""Building real local stores in tests: a master key outside the data directory, and batches."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

from chronolog.wire import Batch, Chunk, ClockView
from collector.store import StoreEvents
from collector.store.keys import FileMasterKeys
from collector.store.local import LocalStore, StoreConfig

CLOCK = ClockView(reason="test")
ROOT = Path(__file__).resolve().parents[2]
BEFORE_ROOTS = "0ab8fe8"  # main just before records roots: its stores have v1 segments


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


def store_before_roots(data: Path) -> None:
    """A store in ``data`` (master key beside it, ``master.key``) written by chronolog as it was
    before records roots: tenant "city", two v1 segments of 40 lines each from host web-1.
    The earlier code is taken from git history and run in a separate interpreter."""
    known = subprocess.run(["git", "-C", ROOT, "cat-file", "-e", f"{BEFORE_ROOTS}^{{commit}}"],
                           capture_output=True)
    if known.returncode != 0:
        pytest.skip(f"needs commit {BEFORE_ROOTS} (the code before records roots) in the checkout's "
                    "history")
    old = data.parent / "old-code"
    old.mkdir()
    archive = subprocess.run(["git", "-C", ROOT, "archive", BEFORE_ROOTS, "collector", "chronolog"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
    script = textwrap.dedent(f"""
        import asyncio
        from pathlib import Path
        from chronolog.wire import Batch, Chunk, ClockView
        from collector.store.keys import FileMasterKeys
        from collector.store.local import LocalStore, StoreConfig
        async def main():
            data = Path({str(data)!r})
            master = FileMasterKeys.create(data.parent / "master.key")
            store = LocalStore(data, master, StoreConfig(seal_in_subprocess=False)).open()
            for k in range(2):
                msgs = [f"old {{k}} {{i}}" for i in range(40)]
                chunk = Chunk("s", k * 40, 1, ClockView(reason="old"), msgs, list(range(k * 40, k * 40 + 40)),
                              ["explicit"] * 40, [None] * 40)
                await store.append("city", Batch("a1", "web-1", "Asia/Tokyo", 1, [chunk]), 1)
                await store.seal("city")
            store.close()
        asyncio.run(main())
    """)
    # Run from the old tree: a ``-c`` script puts its working directory first on sys.path.
    subprocess.run([sys.executable, "-c", script], check=True, cwd=old,
                   env={**os.environ, "PYTHONPATH": str(old)})


def flip_byte(archive: Path, altered: Path, name: str) -> None:
    """``archive`` copied to ``altered`` with one byte of member ``name`` changed (50 from its end)."""
    with tarfile.open(archive) as src, tarfile.open(altered, "w") as dst:
        for member in src:
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == name:
                data = data[:-50] + bytes([data[-50] ^ 0xFF]) + data[-49:]
            dst.addfile(member, io.BytesIO(data))
