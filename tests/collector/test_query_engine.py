"""The query engine's text search agrees with a plain substring test, line by line."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from collector.query.engine import _containing

LINES = st.lists(st.text(alphabet="ab\nc", max_size=6), max_size=12)


@given(LINES, st.text(alphabet="abc\n", min_size=1, max_size=3), st.data())
def test_the_joined_search_finds_exactly_the_lines_that_contain_the_text(
        msg: list[str], text: str, data: st.DataObject) -> None:
    lo = data.draw(st.integers(0, len(msg)))
    hi = data.draw(st.integers(lo, len(msg)))
    assert list(_containing(msg, lo, hi, text)) == [i for i in range(lo, hi) if text in msg[i]]
