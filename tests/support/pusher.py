"""A load generator that pushes batches to a real collector as an agent would, and remembers
exactly which lines the collector acknowledged."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from chronolog.wire import CONTENT_TYPE, Batch, Chunk, ClockView, compress, encode_batch

T0 = 1_795_000_000_000_000  # 2026-11-18, an instant in the past


def line(stream: str, seq: int) -> str:
    """A 256-byte line naming its stream and sequence number."""
    head = f"{stream} seq={seq:09d} "
    return head + "x" * (256 - len(head))


class Pusher(threading.Thread):
    """Pushes ``lines`` lines per batch round-robin over ``streams`` streams until stopped.

    Like the agent, it resends a batch until the collector acknowledges it (through restarts
    and refusals) and only then moves on. ``acked[stream]`` is the number of lines acknowledged,
    which are exactly seqs ``0 .. acked[stream] - 1``.
    """

    def __init__(self, url: str, token_file: Path, streams: int = 4, lines: int = 200,
                 agent: str = "pusher") -> None:
        super().__init__(daemon=True)
        self.url = url + "/v1/push"
        self.token = token_file.read_text().strip()
        self.streams = [f"file:/var/log/load-{i}.log" for i in range(streams)]
        self.lines = lines
        self.agent = agent
        self.acked = dict.fromkeys(self.streams, 0)
        self.failures = 0
        self.stop = threading.Event()
        self.error: str | None = None

    @property
    def total(self) -> int:
        return sum(self.acked.values())

    def _body(self, stream: str, seq: int) -> bytes:
        n = self.lines
        seqs = range(seq, seq + n)
        chunk = Chunk(stream, seq, T0, ClockView(reason="load"), [line(stream, s) for s in seqs],
                      [T0 + s * 1000 for s in seqs], ["explicit"] * n, [None] * n)
        return compress(encode_batch(Batch(self.agent, "load-1", "UTC", T0, [chunk])), "zstd")

    def _post(self, body: bytes) -> bool:
        request = urllib.request.Request(self.url, data=body, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": CONTENT_TYPE,
            "Content-Encoding": "zstd"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return bool(response.status == 200)
        except urllib.error.HTTPError as e:
            if e.code != 503:
                self.error = f"HTTP {e.code}: {e.read()[:200]!r}"
            return False
        except (urllib.error.URLError, OSError):
            return False

    def run(self) -> None:
        turn = 0
        while not self.stop.is_set() and self.error is None:
            stream = self.streams[turn % len(self.streams)]
            body = self._body(stream, self.acked[stream])
            while not self._post(body):
                self.failures += 1
                if self.stop.is_set() or self.error is not None:
                    return
                time.sleep(0.05)
            self.acked[stream] += self.lines
            turn += 1
