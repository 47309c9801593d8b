"""`make mutate MODULE=path/to/module.py [TESTS="tests/..."]`: mutation testing of one module.

mutmut changes the module in small ways (a ``<`` for a ``<=``, a constant, a dropped call) and
runs the tests once per change; a change no test notices ("survived") is behaviour the tests
do not pin down. It runs in a copy of the working tree (so the checkout is never touched), and
prints the score and every survivor with its diff. A survivor that cannot change behaviour
(an "equivalent mutant") is not a gap: judge each one.

The modules the suite pins down at their edges (issue 16) have their tests named below;
another module's tests default to its mirror in tests/ (``tests/<package>/test_<name>.py``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = Path(sys.executable).parent / "mutmut"

TESTS = {
    "chronolog/clock/bound.py": ["tests/chronolog/clock/test_bound.py", "tests/agent/clock/test_view.py"],
    "collector/store/seqset.py": ["tests/collector/test_seqset.py"],
    "chronolog/timestamps/resolve.py": ["tests/chronolog/timestamps"],
    "chronolog/wire.py": ["tests/chronolog/test_wire.py", "tests/chronolog/test_wire_columns.py",
                          "tests/collector/test_local_store.py",
                          "tests/collector/test_store_wal_cut.py", "tests/collector/test_admission.py"],
}


def default_tests(module: str) -> list[str]:
    if module in TESTS:
        return TESTS[module]
    path = Path(module)
    mirror = Path("tests", *path.parts[:-1]) / f"test_{path.stem}.py"
    return [str(mirror)] if (ROOT / mirror).exists() else [str(Path("tests", path.parts[0]))]


def copy_tree(into: Path) -> None:
    """The working tree's tracked files (as they are now, edits included)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)


def run(module: str, tests: list[str], work: Path) -> int:
    package = Path(module).parts[0]
    (work / "setup.cfg").write_text(
        f"[mutmut]\nsource_paths={package}\nonly_mutate={module}\n"
        f"pytest_add_cli_args_test_selection=\n    " + "\n    ".join(tests) + "\n")
    subprocess.run([MUTMUT, "run"], cwd=work, stdout=subprocess.DEVNULL, check=False)
    results = subprocess.run([MUTMUT, "results", "--all", "true"], cwd=work, capture_output=True,
                             text=True).stdout
    status = dict(re.findall(r"^\s*(\S+): (\w[\w ]*)$", results, re.M))
    counts: dict[str, int] = {}
    for outcome in status.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    total = sum(counts.values())
    print(f"{module}: {killed} of {total} mutants killed ({100 * killed / max(total, 1):.1f}%), "
          + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    print(f"tests: {' '.join(tests)}")
    for name, outcome in sorted(status.items()):
        if outcome not in ("killed", "timeout"):
            shown = subprocess.run([MUTMUT, "show", name], cwd=work, capture_output=True, text=True).stdout
            print(f"\n{outcome}: {name}\n{shown.strip()}")
    return 0 if total else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("module", help="a module path, e.g. collector/store/seqset.py")
    p.add_argument("tests", nargs="*", help="test files or directories (default: see above)")
    p.add_argument("--keep", type=Path, help="work in this directory and keep it (mutmut caches results)")
    args = p.parse_args()
    if not (ROOT / args.module).is_file():
        p.error(f"no module {args.module}")
    tests = args.tests or default_tests(args.module)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        copy_tree(args.keep)
        return run(args.module, tests, args.keep)
    with tempfile.TemporaryDirectory(prefix="chronolog-mutate-") as tmp:
        copy_tree(Path(tmp))
        return run(args.module, tests, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
