"""An HTTP proxy between a real agent and a real collector that holds back or fails the batch
holding one chosen line, and forwards every other push as it is (a thread per connection, so
the agent's other connections go on meanwhile). It stands for what cannot be ordered from a
real network: one batch's answer coming late, or failing, while a later batch is taken."""

from __future__ import annotations

import http.client
import http.server
import threading
import urllib.parse
from typing import Literal

from chronolog.wire import decode_batch, decompress

Policy = Literal["hold", "fail"]


class HoldProxy:
    """Forwards ``POST /v1/push`` to ``upstream``. The batch holding line ``seq`` of any stream
    is, by ``policy``, held unanswered until `release` (then answered 503), or answered 503 at
    once, each time it comes, until `release`; after `release` everything is forwarded."""

    def __init__(self, upstream: str, policy: Policy, seq: int = 0) -> None:
        self.upstream = urllib.parse.urlsplit(upstream)
        self.policy, self.seq = policy, seq
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.held = 0  # attempts at the chosen batch held or failed
        self.taken: list[int] = []  # first seqs of the other batches the collector answered 200
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def _chosen(self, body: bytes, encoding: str) -> tuple[bool, int]:
        chunks = decode_batch(decompress(body, encoding or "identity", 64 << 20)).batch.chunks
        return any(c.seq <= self.seq < c.seq + len(c) for c in chunks), min(c.seq for c in chunks)

    def _forward(self, path: str, body: bytes,
                 headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            connection.request("POST", path, body, headers)
            answer = connection.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            connection.close()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                chosen, first = proxy._chosen(body, self.headers.get("Content-Encoding", ""))
                if chosen and not proxy.released.is_set():
                    with proxy.lock:
                        proxy.held += 1
                    if proxy.policy == "hold":
                        proxy.released.wait()
                    self._answer(503, [("Retry-After", "0")], b'{"error": "store_unavailable"}')
                    return
                keep = ("Content-Type", "Content-Encoding", "Authorization", "Chronolog-Answered")
                status, headers, payload = proxy._forward(
                    self.path, body, {k: v for k in keep if (v := self.headers.get(k)) is not None})
                if status == 200 and not chosen:
                    with proxy.lock:
                        proxy.taken.append(first)
                passed = [(k, v) for k, v in headers if k.lower().startswith(("retry-", "chronolog-"))]
                self._answer(status, passed, payload)

            def _answer(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        return Handler
