"""The test tree must not shadow the packages it tests."""

from __future__ import annotations

import agent
import chronolog
import collector


def test_packages_under_test_are_the_real_ones() -> None:
    for package in (agent, chronolog, collector):
        shadowed = f"{package.__name__} is a namespace package: a test directory shadows it"
        assert package.__file__ is not None, shadowed
        assert "/tests/" not in package.__file__
    assert chronolog.__version__
