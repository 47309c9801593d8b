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


# ---- the exact intervals, not only the numbers (issue 16: empty (n, n) pairs went unseen) ----

def runs_of(numbers: set[int]) -> list[tuple[int, int]]:
    """The maximal runs of ``numbers`` as sorted half-open intervals: the only right answer."""
    out: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if out and out[-1][1] == n:
            out[-1] = (out[-1][0], n + 1)
        else:
            out.append((n, n + 1))
    return out


@given(ranges, st.integers(0, 80), st.integers(0, 30))
def test_missing_gives_exactly_the_runs_the_set_lacks_and_no_empty_pair(
        ops: list[tuple[int, int]], start: int, length: int) -> None:
    s, model = model_of(ops)
    assert s.missing(start, start + length) == runs_of(set(range(start, start + length)) - model)


@given(ranges, st.integers(0, 80), st.integers(0, 30))
def test_remove_leaves_exactly_the_runs_that_remain(ops: list[tuple[int, int]], start: int,
                                                    length: int) -> None:
    s, model = model_of(ops)
    s.remove(start, start + length)
    assert s.intervals() == runs_of(model - set(range(start, start + length)))


@given(ranges)
def test_gaps_are_exactly_the_holes_below_the_highest_number(ops: list[tuple[int, int]]) -> None:
    s, model = model_of(ops)
    below = set(range(max(model) + 1)) - model if model else set()
    assert s.gaps() == runs_of(below)


def test_edges_touching_and_empty() -> None:
    s = SeqSet()
    s.add(0, 3)
    s.add(5, 7)
    assert s.gaps() == [(3, 5)]  # a set starting at 0 has no (0, 0) hole
    assert s.missing(3, 5) == [(3, 5)] and s.missing(0, 3) == [] and s.missing(7, 7) == []
    assert s.missing(2, 6) == [(3, 5)] and s.missing(6, 9) == [(7, 9)]
    s.remove(3, 5)  # touching both intervals, holding none: nothing changes
    assert s.intervals() == [(0, 3), (5, 7)]
    s.remove(0, 3)
    assert s.intervals() == [(5, 7)] and len(s) == 2
    s.remove(6, 7)
    assert s.intervals() == [(5, 6)]
    s.add(6, 9)
    s.remove(7, 7)  # an empty range splits nothing (issue 16: it left (5, 7) and (7, 9))
    assert s.intervals() == [(5, 9)]
