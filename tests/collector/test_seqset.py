from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from collector.store.seqset import SeqSet

ranges = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=25)


def model_of(ops: list[tuple[int, int]]) -> tuple[SeqSet, set[int]]:
    s, model = SeqSet(), set()
    for start, length in ops:
        s.add(start, start + length)
        model |= set(range(start, start + length))
    return s, model


@given(ranges, st.integers(0, 80), st.integers(0, 30))
def test_missing_is_exactly_what_the_set_lacks(ops: list[tuple[int, int]], start: int, length: int) -> None:
    s, model = model_of(ops)
    missing = {n for a, b in s.missing(start, start + length) for n in range(a, b)}
    assert missing == set(range(start, start + length)) - model
    assert len(s) == len(model)


@given(ranges)
def test_intervals_are_sorted_disjoint_and_never_touch(ops: list[tuple[int, int]]) -> None:
    s, model = model_of(ops)
    spans = s.intervals()
    assert {n for a, b in spans for n in range(a, b)} == model
    assert all(a < b for a, b in spans)
    assert all(spans[i][1] < spans[i + 1][0] for i in range(len(spans) - 1))


@given(ranges, st.integers(0, 80), st.integers(0, 30))
def test_remove_undoes_exactly_its_range(ops: list[tuple[int, int]], start: int, length: int) -> None:
    s, model = model_of(ops)
    s.remove(start, start + length)
    assert {n for a, b in s.intervals() for n in range(a, b)} == model - set(range(start, start + length))


def test_gaps_are_the_holes_below_the_highest_number() -> None:
    s = SeqSet()
    s.add(3, 5)
    s.add(8, 9)
    assert s.gaps() == [(0, 3), (5, 8)]
