"""What the torture scenarios share: writers that append numbered lines the way applications
do, and the final count (every line at the collector exactly once, or counted as dropped)."""

from __future__ import annotations

import collections
import os
import random
import re
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path

_ID = re.compile(r"\bid=(\d{8})\b")


def line(tag: str, n: int, width: int = 120, noisy: bool = False) -> bytes:
    """A line naming its writer (``tag``) and number, padded to about ``width`` bytes (with
    random hex when ``noisy``, so that it does not compress away)."""
    head = f"{tag} id={n:08d} "
    fill = max(0, width - len(head))
    padding = random.Random(n).randbytes(fill // 2 + 1).hex()[:fill] if noisy else "x" * fill
    return (head + padding).encode() + b"\n"


class Writer(threading.Thread):
    """Appends ``total`` numbered lines to ``path`` in small writes, like a busy application.

    ``keep_open``: one O_APPEND descriptor for the whole run (an application that never
    reopens its log: copytruncate is the only rotation it survives); otherwise the path is
    opened for each write, so the writer follows a rename rotation at once.
    """

    def __init__(self, path: Path, tag: str, total: int, per_write: int = 20, pause: float = 0.001,
                 keep_open: bool = False, width: int = 120, noisy: bool = False) -> None:
        super().__init__(daemon=True)
        self.path, self.tag, self.total = path, tag, total
        self.per_write, self.pause, self.keep_open, self.width = per_write, pause, keep_open, width
        self.noisy = noisy
        self.written = 0

    def run(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT) if self.keep_open else -1
        try:
            while self.written < self.total:
                n = min(self.per_write, self.total - self.written)
                data = b"".join(line(self.tag, self.written + i, self.width, self.noisy)
                                for i in range(n))
                if self.keep_open:
                    os.write(fd, data)
                else:
                    with self.path.open("ab") as f:
                        f.write(data)
                self.written += n
                time.sleep(self.pause)
        finally:
            if fd >= 0:
                os.close(fd)


def ids(messages: Iterable[str], tag: str) -> collections.Counter[int]:
    """How many times each line number of ``tag`` is among ``messages``."""
    found: collections.Counter[int] = collections.Counter()
    for msg in messages:
        if msg.startswith(tag + " "):
            m = _ID.search(msg)
            if m:
                found[int(m.group(1))] += 1
    return found


def ids_on_disk(directory: Path, prefix: str, tag: str) -> set[int]:
    """The line numbers of ``tag`` in every file of ``directory`` whose name starts with
    ``prefix`` (gzip'd ones decompressed): what still exists after a rotation."""
    found: set[int] = set()
    for path in directory.iterdir():
        if not path.name.startswith(prefix):
            continue
        if path.name.endswith(".gz"):
            data = subprocess.run(["gzip", "-dc", path], capture_output=True, check=True).stdout
        else:
            data = path.read_bytes()
        found |= set(ids((x.decode(errors="replace") for x in data.splitlines()), tag))
    return found


def assert_exactly_once(received: collections.Counter[int], expected: set[int],
                        dropped: int = 0) -> None:
    """Every expected line arrived once, except ``dropped`` lines the agent counted."""
    duplicates = {n: c for n, c in received.items() if c > 1}
    assert not duplicates, f"{len(duplicates)} lines arrived more than once, e.g. {sorted(duplicates)[:5]}"
    unexpected = set(received) - expected
    assert not unexpected, f"{len(unexpected)} lines arrived never written: {sorted(unexpected)[:5]}"
    missing = expected - set(received)
    assert len(missing) == dropped, (
        f"{len(missing)} lines missing but {dropped} counted as dropped; e.g. {sorted(missing)[:5]}")


def logrotate(config: Path, state: Path) -> None:
    """One forced rotation by the real logrotate."""
    result = subprocess.run(["logrotate", "-f", "-s", str(state), str(config)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
