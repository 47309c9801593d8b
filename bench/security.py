"""What the security issue costs: the audit trail, logins, and an audited read.

    .venv/bin/python bench/security.py [--entries 2000] [--runs 3] [--dir DIR]

Per run:

- **audit append**: entries written durably by `AuditTrail.append` (lock, chain, Ed25519
  signature, write, fsync), next to the peer: the same JSON lines appended with one
  ``write`` + ``fsync`` each and no chain or signature (what issue 6's audit record did, and
  what most log stores do with their own logs);
- **audit verify**: every link and signature of a trail of ``10 x --entries`` entries
  (`verify_trail`), and the chain alone (what the collector does at every start), next to
  ``sha256sum`` of the same file;
- **login**: the round trip of an administrator login attempt over HTTP to a real collector
  process (a name that is no account: the same PBKDF2 as a real one, and no TOTP step used
  up), next to ``openssl kdf`` computing the same PBKDF2-HMAC-SHA256 (600,000 iterations);
- **audited read**: the round trip of ``GET /v1/streams`` as an investigator (one audit entry
  each) next to ``GET /healthz`` (no credential, no audit entry) on the same collector.

Medians, then each run. CPU seconds and peak RSS are this process's (the collector's for the
HTTP rows). The machine is shared: compare within a run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from collector.admin.audit import AuditTrail
from collector.admin.audit_verify import verify_trail
from collector.auth.credentials import Principal
from collector.store.crypto import new_signing_key
from collector.store.keys import Signer

BIN = Path(sys.executable).parent
WHO = Principal("c_0123456789ab", "city", "investigator", "ivan")
DETAILS = {"params": {"since": ["2026-11-27T00:00:00Z"], "until": ["2026-11-28T00:00:00Z"],
                      "host": ["web-1"]},
           "lines": 4096, "matched": 4096}


def _timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn()``."""
    cpu0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - cpu0


def audit_append(root: Path, n: int) -> dict[str, float]:
    private, public = new_signing_key()
    trail = AuditTrail(root / "audit.log", Signer("sk-bench", private, public)).open()
    took, cpu = _timed(lambda: [trail.append(WHO, "query", "city", "done", DETAILS) for _ in range(n)])
    line = (root / "audit.log").read_bytes().split(b"\n")[0]

    def peer() -> None:
        for _ in range(n):
            fd = os.open(root / "plain.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(fd, line + b"\n")
            os.fsync(fd)
            os.close(fd)

    peer_took, _ = _timed(peer)
    return {"entries_s": n / took, "us_entry": took / n * 1e6, "cpu_us_entry": cpu / n * 1e6,
            "peer_entries_s": n / peer_took, "peer_us_entry": peer_took / n * 1e6,
            "bytes_entry": len(line) + 1}


def audit_verify(root: Path, n: int) -> dict[str, float]:
    private, public = new_signing_key()
    path = root / "big.log"
    trail = AuditTrail(path, Signer("sk-bench", private, public)).open()
    # Written without fsync (setup only): the same entries append() makes.
    real_fsync = os.fsync
    os.fsync = lambda fd: None  # type: ignore[assignment]
    try:
        for _ in range(n):
            trail.append(WHO, "query", "city", "done", DETAILS)
    finally:
        os.fsync = real_fsync
    lines = path.read_bytes().split(b"\n")[:-1]
    signed_took, _ = _timed(lambda: verify_trail(lines, public))
    chain_took, _ = _timed(lambda: verify_trail(lines, public, signatures=False))
    sha_took, _ = _timed(lambda: subprocess.run(["sha256sum", path], check=True, capture_output=True))
    return {"verify_entries_s": n / signed_took, "chain_entries_s": n / chain_took,
            "sha256sum_s": sha_took, "verify_s": signed_took, "mb": path.stat().st_size / 1e6}


class Collector:
    """A real collector process with an investigator token; stopped on exit."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        config = root / "collector.toml"
        config.write_text(f'[collector]\ndata_dir = "{root / "data"}"\nlog_level = "error"\n'
                          '[collector.api]\nlisten = "127.0.0.1:0"\n[collector.metrics]\nenabled = false\n'
                          f'[collector.keys]\nmaster_key_file = "{root / "master.key"}"\n')
        run = [BIN / "chronolog-collector"]
        subprocess.run([*run, "keys", "-c", config, "init"], check=True, capture_output=True)
        self.token = subprocess.run([*run, "credentials", "-c", config, "issue", "--tenant", "city", "--role",
                                     "investigator", "--name", "bench"], check=True, capture_output=True,
                                    text=True).stdout.strip()
        ready = root / "ready.json"
        self.proc = subprocess.Popen([*run, "run", "--config", config, "--ready-file", ready])
        while not ready.exists():
            if self.proc.poll() is not None:
                raise SystemExit("the collector exited")
            time.sleep(0.05)
        self.url = json.loads(ready.read_text())["api"]

    def call(self, path: str, token: str | None = None, body: bytes | None = None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = urllib.request.Request(self.url + path, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as e:
            e.read()
            return int(e.code)

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def http_rows(root: Path, reads: int) -> dict[str, float]:
    c = Collector(root)
    try:
        logins = []
        for i in range(5):  # five names: none reaches the throttling
            body = json.dumps({"user": f"nobody{i}", "password": "x" * 16, "totp": "123456"}).encode()
            t0 = time.perf_counter()
            assert c.call("/v1/admin/login", body=body) == 401
            logins.append(time.perf_counter() - t0)
        salt = base64.b64encode(os.urandom(16)).decode()
        kdf = ["openssl", "kdf", "-keylen", "32", "-kdfopt", "digest:SHA256", "-kdfopt", "pass:" + "x" * 16,
               "-kdfopt", "salt:" + salt, "-kdfopt", "iter:600000", "PBKDF2"]
        peer = [_timed(lambda: subprocess.run(kdf, check=True, capture_output=True))[0] for _ in range(3)]
        cpu0 = c.cpu_s()
        streams = []
        for _ in range(reads):
            t0 = time.perf_counter()
            assert c.call("/v1/streams", c.token) == 200
            streams.append(time.perf_counter() - t0)
        read_cpu = c.cpu_s() - cpu0
        health = []
        for _ in range(reads):
            t0 = time.perf_counter()
            assert c.call("/healthz") == 200
            health.append(time.perf_counter() - t0)
        return {"login_ms": statistics.median(logins) * 1e3,
                "openssl_pbkdf2_ms": statistics.median(peer) * 1e3,
                "read_ms": statistics.median(streams) * 1e3, "healthz_ms": statistics.median(health) * 1e3,
                "collector_cpu_ms_read": read_cpu / reads * 1e3, "collector_peak_rss_mb": c.peak_rss_mb()}
    finally:
        c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to write (default: the system temp dir)")
    args = parser.parse_args()
    print(f"# {args.entries} audit entries per run (verify: {10 * args.entries}); {os.cpu_count()} CPUs",
          flush=True)
    runs = []
    for i in range(args.runs):
        root = Path(tempfile.mkdtemp(prefix="chronolog-bench-security-", dir=args.dir))
        try:
            row = {**audit_append(root, args.entries), **audit_verify(root, 10 * args.entries),
                   **http_rows(root / "http", 200)}
        finally:
            shutil.rmtree(root, ignore_errors=True)
        runs.append(row)
        print(f"run {i + 1}: " + ", ".join(f"{k}={v:.1f}" for k, v in row.items()), flush=True)

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(f"\naudit append (chain, Ed25519, fsync): {med('entries_s'):.0f} entries/s, "
          f"{med('us_entry'):.0f} us "
          f"each ({med('cpu_us_entry'):.0f} us CPU), {med('bytes_entry'):.0f} bytes; plain append + fsync: "
          f"{med('peer_entries_s'):.0f} entries/s ({med('us_entry') / med('peer_us_entry'):.2f}x the time)")
    print(f"audit verify: {med('verify_entries_s'):.0f} entries/s with signatures, "
          f"{med('chain_entries_s'):.0f} "
          f"chain only; sha256sum of the same {med('mb'):.1f} MB: {med('sha256sum_s') * 1e3:.0f} ms vs "
          f"{med('verify_s') * 1e3:.0f} ms")
    print(f"login attempt over HTTP: {med('login_ms'):.0f} ms; openssl PBKDF2 (600k): "
          f"{med('openssl_pbkdf2_ms'):.0f} ms")
    print(f"audited read (/v1/streams): {med('read_ms'):.2f} ms vs /healthz {med('healthz_ms'):.2f} ms; "
          f"collector CPU {med('collector_cpu_ms_read'):.2f} ms per read; collector peak RSS "
          f"{med('collector_peak_rss_mb'):.0f} MB")
    print(f"this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB peak RSS, "
          f"{time.process_time():.1f} s CPU")


if __name__ == "__main__":
    main()
