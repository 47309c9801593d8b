"""`make mutate`'s own choices (tools/mutate.py): which tests it runs against which module.
A mutation run itself takes minutes a module and is not part of `make test`."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from support.tools import load_tool

ROOT = Path(__file__).resolve().parents[2]


def mutate() -> ModuleType:
    return load_tool("mutate")


def test_every_module_named_and_its_tests_exist() -> None:
    # A module that moves leaves `make mutate MODULE=...` refusing its old path ("no module"),
    # and a test path that moves makes mutmut run nothing: every mutant would survive.
    named = mutate().TESTS
    assert {"chronolog/clock/bound.py", "collector/store/seqset.py", "chronolog/timestamps/resolve.py",
            "chronolog/wire.py"} <= set(named)
    for module, tests in named.items():
        assert (ROOT / module).is_file(), module
        for test in tests:
            assert (ROOT / test).exists(), f"{module}: {test}"


def test_every_test_file_named_for_a_module_is_run_against_it() -> None:
    # chronolog/wire.py's columns (version 2) are tested in test_wire_columns.py: left out,
    # mutmut ran no test on half of wire.py's mutants and counted them as not killed.
    for module, tests in mutate().TESTS.items():
        mirror = ROOT / "tests" / Path(module).parent
        for found in mirror.glob(f"test_{Path(module).stem}*.py"):
            named = found.relative_to(ROOT)
            assert any(named == Path(t) or Path(t) in named.parents for t in tests), f"{module}: {named}"


def test_another_module_is_tested_by_its_mirror_or_its_package() -> None:
    m = mutate()
    assert m.default_tests("collector/store/seqset.py") == ["tests/collector/test_seqset.py"]
    assert m.default_tests("chronolog/timefmt.py") == ["tests/chronolog/test_timefmt.py"]
    assert m.default_tests("collector/no_such_module.py") == ["tests/collector"]
