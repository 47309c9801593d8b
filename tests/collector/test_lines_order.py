"""`LineBlock.timeline_order`: by time alone when no two lines share an instant, else by the
full key; either way the order of (ts, host, stream, seq)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chronolog.wire import Batch, Chunk, ClockView
from collector.store.lines import LineBlock

_line = st.tuples(st.integers(0, 5), st.sampled_from(["a", "b"]), st.sampled_from(["s", "t"]))


@settings(deadline=None, max_examples=200)
@given(st.lists(_line, min_size=1, max_size=40), st.booleans())
def test_timeline_order_is_the_full_key_order(picks: list[tuple[int, str, str]], distinct: bool) -> None:
    batches = []
    for i, (ts, host, stream) in enumerate(picks):
        when = i * 7 + ts if distinct else ts  # distinct instants, or many ties
        chunk = Chunk(stream, i, 1, ClockView(), [f"m{i}"], [when], ["explicit"], [None])
        batches.append((1, Batch("agent", host, "UTC", 1, [chunk])))
    block = LineBlock.from_batches(batches)
    order = block.timeline_order()
    keys = [(block.ts[i], block.origins[block.origin[i]].host, block.origins[block.origin[i]].stream,
             block.seq[i]) for i in order]
    assert keys == sorted(keys)
    assert sorted(order) == list(range(len(picks)))
