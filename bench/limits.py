"""What a hostile or heavy client costs a real collector: memory under concurrent maximum
batches, and how long slow connections are kept (issue 16).

    .venv/bin/python bench/limits.py memory [--batches 3] [--line-bytes 256] [--runs 3] [--peer-code DIR]
    .venv/bin/python bench/limits.py slow [--connections 20] [--cap 150] [--peer-code DIR]

**memory**: a real ``chronolog-collector`` process (store in a temporary directory) gets
``--batches`` concurrent POSTs of a maximum batch (``collector.api.max_body_bytes``, 64 MiB of
256-byte lines uncompressed, zstd on the wire); each client retries on 429/503 after the
``Retry-After`` it is given, until every batch is acknowledged. Printed: the collector's peak
RSS (VmHWM; its sealer process is another process and not counted), the seconds until the last
acknowledgement, and how many answers were 503. Medians over ``--runs``.

**slow**: ``--connections`` clients each of three kinds: a request head sent one byte a second
(no credential); with an agent's token, a complete head promising a 1 MiB body that comes one
byte a second; and ``Content-Length: 10^15`` with a 10-byte body, then silence. Printed per
kind: the median and the longest time the collector kept such a connection open (capped at
``--cap`` seconds).

``--peer-code DIR`` runs the same measurement, in the same run, against the collector code of
another checkout (e.g. ``git worktree add /tmp/main-before main``): the peer is chronolog before
the change. The machine is shared: compare within a run.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import make_batches

from chronolog.wire import CONTENT_TYPE, compress, encode_batch

BIN = Path(sys.executable).parent
MAX_BODY = 64 << 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Collector:
    """A real collector process with a fresh store, an agent token, and its code from ``code``."""

    def __init__(self, root: Path, code: Path | None, extra: str = "") -> None:
        self.root = root
        self.port = free_port()
        config = root / "collector.toml"
        config.write_text(
            f'[collector]\ndata_dir = "{root / "data"}"\n'
            f'[collector.api]\nlisten = "127.0.0.1:{self.port}"\n'
            '[collector.metrics]\nenabled = false\n'
            f'[collector.keys]\nmaster_key_file = "{root / "master.key"}"\n{extra}')
        # `python -m` puts the working directory first on sys.path: the code run is that checkout's.
        self.cwd = str(code or Path.cwd())
        self.env = dict(os.environ)
        run = [sys.executable, "-m", "collector.cli"]
        subprocess.run([*run, "keys", "-c", config, "init"],
                       check=True, capture_output=True, env=self.env, cwd=self.cwd)
        token = root / "agent.token"
        subprocess.run([*run, "credentials", "-c", config, "issue", "--tenant", "bench", "--role", "agent",
                        "--name", "bench", "--token-file", token],
                       check=True, capture_output=True, env=self.env, cwd=self.cwd)
        self.token = token.read_text().strip()
        ready = root / "ready"
        self.log = (root / "collector.log").open("wb")
        self.proc = subprocess.Popen([*run, "run", "--config", config, "--ready-file", ready],
                                     stdout=self.log, stderr=self.log, env=self.env, cwd=self.cwd)
        while not ready.exists():
            if self.proc.poll() is not None:
                raise SystemExit(f"collector exited: {(root / 'collector.log').read_text()}")
            time.sleep(0.05)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=120)
        self.log.close()


# ---- memory -----------------------------------------------------------------------------------


def max_batch_body(line_bytes: int) -> tuple[bytes, int]:
    """A zstd body whose JSON is just under the 64 MiB limit, and its line count."""
    lines = 200_000
    while True:
        [b] = make_batches(lines, lines, hosts=1)
        b.chunks[0].msg = [m[:line_bytes] for m in b.chunks[0].msg]
        body = encode_batch(b)
        if len(body) <= MAX_BODY:
            grown = int(lines * MAX_BODY / len(body) * 0.995)
            if grown <= lines:
                return compress(body, "zstd"), lines
            lines = grown
        else:
            lines = int(lines * MAX_BODY / len(body) * 0.99)


def post_until_accepted(port: int, token: str, body: bytes, refused: list[int]) -> None:
    import http.client
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        conn.request("POST", "/v1/push", body=body, headers={
            "Authorization": f"Bearer {token}", "Content-Type": CONTENT_TYPE, "Content-Encoding": "zstd"})
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status == 200:
            return
        if response.status not in (429, 503):
            raise SystemExit(f"HTTP {response.status}")
        refused.append(response.status)
        time.sleep(float(response.getheader("Retry-After") or "1"))


def memory_run(body: bytes, batches: int, code: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        collector = Collector(Path(tmp), code)
        try:
            refused: list[int] = []
            t0 = time.perf_counter()
            threads = [threading.Thread(target=post_until_accepted, args=(collector.port, collector.token,
                                                                          body, refused))
                       for _ in range(batches)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return {"peak_rss_mb": collector.peak_rss_mb(), "seconds": time.perf_counter() - t0,
                    "refused": len(refused)}
        finally:
            collector.stop()


def memory(args: argparse.Namespace) -> None:
    body, lines = max_batch_body(args.line_bytes)
    print(f"maximum batch: {lines} lines of {args.line_bytes} B, {MAX_BODY >> 20} MiB of JSON, "
          f"{len(body) >> 20} MiB zstd; {args.batches} at once")
    sides = [("chronolog", None)] + ([("peer (before)", args.peer_code)] if args.peer_code else [])
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in sides}
    for _ in range(args.runs):
        for name, code in sides:  # alternate, so both see the same machine
            results[name].append(memory_run(body, args.batches, code))
    for name, runs in results.items():
        rss = statistics.median(r["peak_rss_mb"] for r in runs)
        secs = statistics.median(r["seconds"] for r in runs)
        print(f"{name:15s} peak RSS {rss:7.0f} MB   all acknowledged after {secs:5.1f} s   "
              f"503s {[r['refused'] for r in runs]}   runs {[round(r['peak_rss_mb']) for r in runs]}")


# ---- slow connections ---------------------------------------------------------------------------


def _slow(port: int, token: str, kind: str, cap: float, out: list[float]) -> None:
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(1.0)
    t0 = time.monotonic()
    head = b"POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: " + CONTENT_TYPE.encode()
    if kind != "slow-head":  # an agent's token, as the attacker of issue 16 held
        head += f"\r\nAuthorization: Bearer {token}".encode()
    if kind == "slow-head":
        todo = head + b"\r\n" * 200
    elif kind == "slow-body":
        s.sendall(head + b"\r\nContent-Length: 1048576\r\n\r\n")
        todo = b"x" * 1048576
    else:  # "huge-length": a promise of 10^15 bytes, then silence
        s.sendall(head + b"\r\nContent-Length: 1000000000000000\r\n\r\n0123456789")
        todo = b""
    sent = 0
    while time.monotonic() - t0 < cap:
        try:
            if sent < len(todo):
                s.sendall(todo[sent:sent + 1])
                sent += 1
            data = s.recv(65536)
            if data == b"":
                break  # closed by the collector (possibly after an answer)
            if b"HTTP/1.1" in data and kind == "huge-length":
                pass  # an answer; the close follows
        except TimeoutError:
            continue
        except OSError:
            break
    out.append(min(time.monotonic() - t0, cap))
    s.close()


def slow_run(args: argparse.Namespace, code: Path | None) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        collector = Collector(Path(tmp), code)
        try:
            kept: dict[str, list[float]] = {k: [] for k in ("slow-head", "slow-body", "huge-length")}
            threads = [threading.Thread(target=_slow, args=(collector.port, collector.token, kind, args.cap,
                                                            kept[kind]))
                       for kind in kept for _ in range(args.connections)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return kept
        finally:
            collector.stop()


def slow(args: argparse.Namespace) -> None:
    sides = [("chronolog", None)] + ([("peer (before)", args.peer_code)] if args.peer_code else [])
    for name, code in sides:
        kept = slow_run(args, code)
        for kind, times in kept.items():
            print(f"{name:15s} {kind:12s} kept open: median {statistics.median(times):6.1f} s, "
                  f"longest {max(times):6.1f} s ({len(times)} connections, cap {args.cap:.0f} s)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    m = sub.add_parser("memory")
    m.add_argument("--batches", type=int, default=3)
    m.add_argument("--line-bytes", type=int, default=256, help="shorter lines cost more memory per byte")
    m.add_argument("--runs", type=int, default=3)
    m.add_argument("--peer-code", type=Path)
    s = sub.add_parser("slow")
    s.add_argument("--connections", type=int, default=20)
    s.add_argument("--cap", type=float, default=150.0)
    s.add_argument("--peer-code", type=Path)
    args = p.parse_args()
    memory(args) if args.what == "memory" else slow(args)


if __name__ == "__main__":
    main()
