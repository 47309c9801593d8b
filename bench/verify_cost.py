"""What verify costs per GB stored, with the checks issue 16 added (catalog index tables
against each segment's header and index, WAL files against their heads) and without them.

    .venv/bin/python bench/verify_cost.py --peer-code DIR [--lines 4000000] [--runs 5]

One store is built (256-byte lines from 8 hosts, sealed into segments, a WAL file left
unsealed) with this checkout's code; then verify (every block's tag, digests, the chain, the
signed checkpoints, and the rest) runs on it, alternately with this checkout's code and with
the code of ``--peer-code``, each in its own process. Printed: seconds per GB of segment files,
medians over ``--runs``, and the ratio.

The peer must open this checkout's store: main just before the hardening merge does
(``git worktree add --detach /tmp/before-checks 0a61c7f^1``); an older checkout may not (b04bb8c's
catalog has a column fewer), and then its error is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()


def build(root: Path, lines: int) -> float:
    sys.path.insert(0, str(HERE.parent))
    from _data import make_batches

    from collector.store.keys import FileMasterKeys
    from collector.store.local import LocalStore, StoreConfig

    async def fill() -> None:
        store = LocalStore(root / "data", FileMasterKeys.create(root / "master.key"),
                           StoreConfig(seal_in_subprocess=False)).open()
        batches = make_batches(lines, 4000)
        for b in batches[:-10]:
            await store.append("bench", b, 1)
        await store.seal("bench")
        for b in batches[-10:]:  # some lines stay in the WAL
            await store.append("bench", b, 1)
        store.close()

    asyncio.run(fill())
    segments = root / "data" / "tenants" / "bench" / "segments"
    return sum(p.stat().st_size for p in segments.glob("*.cls")) / 1e9


def verify_once(root: Path) -> float:
    from collector.store.keys import FileMasterKeys
    from collector.store.local import LocalStore, StoreConfig

    store = LocalStore(root / "data", FileMasterKeys.load(root / "master.key"),
                       StoreConfig(seal_in_subprocess=False)).open()
    t0 = time.perf_counter()
    report = store.verify("bench")
    seconds = time.perf_counter() - t0
    store.close()
    assert report.clean, report.findings
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--peer-code", type=Path, required=True)
    p.add_argument("--lines", type=int, default=4_000_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--verify-only", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.verify_only:
        print(verify_once(args.verify_only))
        return
    with tempfile.TemporaryDirectory() as tmp:
        gb = build(Path(tmp), args.lines)
        sides = {"with the added checks": Path.cwd(), "peer (before)": args.peer_code}
        times: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(args.runs):
            for name, code in sides.items():  # alternate: both see the same machine
                # The collector code comes from PYTHONPATH: that checkout's, not this one's.
                out = subprocess.run([sys.executable, str(HERE), "--peer-code", ".", "--verify-only", tmp],
                                     capture_output=True, text=True,
                                     env={"PYTHONPATH": str(code.resolve()), "PATH": "/usr/bin:/bin"})
                if out.returncode:
                    raise SystemExit(f"verify with {name}'s code ({code}) failed:\n{out.stderr[-3000:]}")
                times[name].append(float(out.stdout.strip().splitlines()[-1]))
        print(f"store: {args.lines} lines of 256 B, {gb:.3f} GB of segments")
        per_gb = {name: statistics.median(t) / gb for name, t in times.items()}
        for name, value in per_gb.items():
            runs = [round(t, 3) for t in times[name]]
            print(f"{name:22s} verify {value:.2f} s per GB stored (runs, s: {runs})")
        print(f"ratio: {per_gb['with the added checks'] / per_gb['peer (before)']:.2f}")


if __name__ == "__main__":
    main()
