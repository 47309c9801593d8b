"""The query engine over a real store: filters, pages and cursors, context, windows and clocks."""

from __future__ import annotations

import asyncio
import itertools
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.stores import make_store

from chronolog.wire import Batch, Chunk, ClockView
from collector.query.engine import Row, Run
from collector.query.match import Matcher
from collector.query.spec import BadQuery, Cursor, Page, QuerySpec, TextFilter
from collector.store.local import LocalStore

OK = ClockView(offset=0.0, bound=0.001, synced=True, status="ok", source="audit")
WORDS = ["GET", "get", "POST", "/login", "a", "b", "ab", "x y", "東京", ""]


# ---- text filters ----------------------------------------------------------------------------

def _reference(text: TextFilter, message: str) -> bool:
    flags = re.IGNORECASE if text.ignore_case else 0

    def has(s: str) -> bool:
        return re.search(re.escape(s), message, flags) is not None

    def fits(p: str) -> bool:
        return re.search(p.replace(r"\z", r"\Z"), message, flags) is not None

    return (all(map(has, text.grep)) and all(map(fits, text.regex)) and not any(map(has, text.exclude))
            and not any(map(fits, text.exclude_regex)))


MESSAGES = st.lists(st.text(alphabet="abAB \n-", max_size=8), min_size=1, max_size=15)
LITERALS = st.text(alphabet="abAB \n-", min_size=1, max_size=3)
PATTERNS = st.sampled_from(["a", "^a", "b$", "^$", "a.b", "(?m)^b", "a|B", "[ab]-", r"\Aa", r"b\z", r"a\sb",
                            "a*", "-+"])


@given(MESSAGES, st.lists(LITERALS, max_size=2), st.lists(PATTERNS, max_size=2),
       st.lists(LITERALS, max_size=1), st.lists(PATTERNS, max_size=1), st.booleans(), st.data())
def test_the_joined_text_search_keeps_exactly_the_messages_each_alone_would(
        messages: list[str], grep: list[str], regex: list[str], exclude: list[str], exclude_regex: list[str],
        ignore_case: bool, data: st.DataObject) -> None:
    text = TextFilter(tuple(grep), tuple(regex), tuple(exclude), tuple(exclude_regex), ignore_case)
    joined = "\n".join(messages).encode()
    ends = list(itertools.accumulate(len(m.encode()) + 1 for m in messages))
    ends = [e - 1 for e in ends]
    lo = data.draw(st.integers(0, len(messages)))
    hi = data.draw(st.integers(lo, len(messages)))
    assert list(Matcher(text).lines(joined, ends, lo, hi)) == [
        i for i in range(lo, hi) if _reference(text, messages[i])]


def test_a_regular_expression_re2_refuses_is_a_bad_query_naming_it() -> None:
    with pytest.raises(BadQuery, match=r"regular expression '\(a'"):
        Matcher(TextFilter(regex=("(a",)))
    with pytest.raises(BadQuery, match="RE2"):
        Matcher(TextFilter(exclude_regex=(r"(a)\1",)))  # backreferences: not linear time


# ---- a store with lines from three hosts, sealed in overlapping segments and in the WAL --------

HOSTS = ("web-1", "web-2", "db-1")


def _lines(seed: int) -> list[tuple[str, str, int, int, str]]:
    """(host, stream, seq, ts, msg): per stream consecutive seqs, times that mostly rise."""
    rng = random.Random(seed)
    out = []
    for host in HOSTS:
        for stream in ("file:/a", "file:/b"):
            t = rng.randrange(0, 50)
            for seq in range(rng.randrange(20, 60)):
                t += rng.choice([0, 0, 1, 3, 7, -2])  # ties and small steps back, as real logs have
                out.append((host, stream, seq, max(0, t) * 1_000_000, f"{rng.choice(WORDS)} {host} {seq}"))
    return out


def _batches(lines: list[tuple[str, str, int, int, str]], start: int, end: int) -> Iterator[Batch]:
    """The lines with ``start <= seq < end`` of each stream, one batch per host and stream."""
    for (host, stream), group in itertools.groupby(sorted(lines), key=lambda x: x[:2]):
        part = [x for x in group if start <= x[2] < end]
        if part:
            chunk = Chunk(stream, part[0][2], 0, OK, [x[4] for x in part], [x[3] for x in part],
                          ["explicit"] * len(part), [None] * len(part))
            yield Batch(f"agent-{host}", host, "UTC", 0, [chunk])


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStore, list[tuple]]]:
    lines = _lines(7)
    store = make_store(tmp_path_factory.mktemp("store"), block_bytes=4096)

    async def fill() -> None:
        for start, end in ((0, 15), (15, 35)):  # two segments whose times overlap
            for b in _batches(lines, start, end):
                await store.append("city", b, 1)
            await store.seal("city")
        for b in _batches(lines, 35, 1000):  # the rest stays in the WAL
            await store.append("city", b, 1)

    asyncio.run(fill())
    yield store, lines
    store.close()


def run_all(store: LocalStore, spec: QuerySpec, cursor: Cursor | None = None,
            budget: float | None = None) -> tuple[list[Row], Run]:
    """One page; with a ``budget``, the clock moves one second each time the run looks at it."""
    ticks = itertools.repeat(0) if budget is None else itertools.count()
    budget = budget or 60.0
    with store.reader("city") as reader:
        run = Run(reader, Page(spec, cursor, budget), now=10**15, skew_margin=0.0,
                  clock=lambda: float(next(ticks)))
        return list(run), run


def keys(rows: list[Row]) -> list[tuple]:
    return [r.key for r in rows]


SPECS = st.builds(
    QuerySpec,
    since=st.integers(0, 60).map(lambda s: s * 1_000_000),
    until=st.one_of(st.none(), st.integers(61, 400).map(lambda s: s * 1_000_000)),
    hosts=st.frozensets(st.sampled_from(HOSTS), max_size=2),
    streams=st.frozensets(st.sampled_from(["file:/a", "file:/b"]), max_size=1),
    text=st.builds(TextFilter, grep=st.lists(st.sampled_from(["a", "web", "G"]), max_size=1).map(tuple),
                   exclude=st.lists(st.sampled_from(["b", "2"]), max_size=1).map(tuple),
                   ignore_case=st.booleans()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(SPECS, st.lists(st.integers(1, 40), min_size=1, max_size=6), st.lists(st.integers(1, 30), max_size=6))
def test_any_range_split_at_any_cursor_returns_every_line_exactly_once(
        stored: tuple[LocalStore, list[tuple]], spec: QuerySpec, limits: list[int],
        budgets: list[int]) -> None:
    """Pages end at their limit or when their (fake) time budget runs out, at any point of the
    scan; following the cursors gives exactly the lines one unbounded page gives, in order."""
    store, _ = stored
    whole, run = run_all(store, spec)
    assert run.summary.complete
    got: list[Row] = []
    cursor = None
    for page in itertools.count():
        limit = limits[page % len(limits)]
        budget = budgets[page % len(budgets)] if budgets else None
        rows, run = run_all(store, QuerySpec(**{**_fields(spec), "limit": limit}), cursor, budget=budget)
        got += rows
        s = run.summary
        assert len(rows) <= limit and (s.stopped is None) == (s.cursor is None)
        if s.cursor is None:
            break
        cursor = Cursor.decode(s.cursor)
        assert page < 500, "the pages never end"
    assert keys(got) == keys(whole)
    assert len(set(keys(got))) == len(got)


def _fields(spec: QuerySpec) -> dict:
    return {f: getattr(spec, f) for f in spec.__dataclass_fields__}


def test_the_timeline_is_every_matching_line_in_order_with_ties_broken_by_host_stream_and_seq(
        stored: tuple[LocalStore, list[tuple]]) -> None:
    store, lines = stored
    rows, _ = run_all(store, QuerySpec(0, None, text=TextFilter(grep=("web",))))
    expected = sorted((ts, host, stream, f"agent-{host}", seq) for host, stream, seq, ts, msg in lines
                      if "web" in msg)
    assert keys(rows) == expected
    # Where each line was read: its segment and block (what an export proves it with), or the WAL.
    assert all((r.sealed is None) == (r.key[4] >= 35) for r in rows)
    assert [r.block.message(r.index) for r in rows[:3]] == [
        next(m for h, s, q, _, m in lines if (h, s, q) == (r.key[1], r.key[2], r.key[4])) for r in rows[:3]]


def test_a_page_out_of_time_before_any_hit_still_moves_on(stored: tuple[LocalStore, list[tuple]]) -> None:
    """A long stretch without a hit must not be scanned again page after page."""
    store, _ = stored
    spec = QuerySpec(0, None, text=TextFilter(grep=("db-1 5",)))
    rows, run = run_all(store, spec, budget=1)  # out of time after one part
    assert run.summary.stopped == "time_budget" and run.summary.cursor is not None
    cursor = Cursor.decode(run.summary.cursor)
    assert cursor.key[0] > 0 or rows


# ---- context ---------------------------------------------------------------------------------

def _seqs(rows: list[Row]) -> list[tuple[str, int]]:
    return [(r.kind, r.key[4]) for r in rows]


def test_context_comes_from_the_hits_own_stream_across_blocks_and_segments(
        stored: tuple[LocalStore, list[tuple]]) -> None:
    store, lines = stored
    target = next(x for x in lines if x[:3] == ("web-2", "file:/b", 15))
    spec = QuerySpec(0, None, hosts=frozenset({"web-2"}), streams=frozenset({"file:/b"}),
                     text=TextFilter(grep=(target[4],)), before=3, after=2)
    rows, run = run_all(store, spec)
    hits = [r for r in rows if r.kind == "hit"]
    assert target[2] in [r.key[4] for r in hits]
    i = next(k for k, r in enumerate(rows) if r.key[4] == 15)
    # seq 15 is the first line of the second segment: 12-14 are in the first one
    assert _seqs(rows[i - 3:i + 3]) == [("before", 12), ("before", 13), ("before", 14), ("hit", 15),
                                        ("after", 16), ("after", 17)]
    assert all(r.key[1:3] == ("web-2", "file:/b") for r in rows)
    assert run.summary.context == len(rows) - len(hits) and run.summary.context_missing == 0


async def test_context_at_a_streams_start_and_end_and_over_a_gap_has_what_exists(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    text = {0: "first", 1: "two", 2: "three", 4: "four", 5: "last"}  # seq 3 never arrived
    for seqs in ([0, 1, 2], [4, 5]):
        n = len(seqs)
        chunk = Chunk("s", seqs[0], 0, OK, [text[q] for q in seqs], [100 + q for q in seqs],
                      ["explicit"] * n, [None] * n)
        await store.append("city", Batch("a", "web-1", "UTC", 0, [chunk]), 1)
    for grep, expected in (("first", [("hit", 0), ("after", 1), ("after", 2)]),
                           ("last", [("before", 4), ("hit", 5)]),
                           ("three", [("before", 0), ("before", 1), ("hit", 2), ("after", 4)])):
        rows, run = run_all(store, QuerySpec(0, None, text=TextFilter(grep=(grep,)), before=2, after=2))
        assert _seqs(rows) == expected, grep
        assert run.summary.context_missing == 0
    store.close()


async def test_a_context_line_that_is_itself_a_hit_is_given_once_as_a_hit(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    msgs = ["x error", "ok", "y error", "ok", "ok"]
    chunk = Chunk("s", 0, 0, OK, msgs, [100, 101, 102, 103, 104], ["explicit"] * 5, [None] * 5)
    await store.append("city", Batch("a", "web-1", "UTC", 0, [chunk]), 1)
    rows, run = run_all(store, QuerySpec(0, None, text=TextFilter(grep=("error",)), before=1, after=1))
    assert _seqs(rows) == [("hit", 0), ("after", 1), ("hit", 2), ("after", 3)]
    assert (run.summary.hits, run.summary.context) == (2, 2)
    store.close()


# ---- windows, clocks, damage -------------------------------------------------------------------

async def test_a_host_ahead_is_not_left_out_of_a_window_and_future_lines_are_flagged(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    ahead = ClockView(offset=3.0, bound=3.002, synced=True, status="over_budget", source="audit")
    s = 1_000_000
    lines = [("web-1", OK, 10 * s + 200_000), ("web-2", ahead, 13 * s + 400_000)]  # true 10.2 s and 10.4 s
    for host, clock, ts in lines:
        chunk = Chunk("s", 0, ts, clock, [f"{host} line"], [ts], ["explicit"], [None])
        await store.append("city", Batch(host, host, "UTC", ts, [chunk]), 1)
    with store.reader("city") as reader:
        rows = list(Run(reader, Page(QuerySpec(10 * s, 11 * s), None, 60), now=12 * s, skew_margin=5.0))
        assert [(r.key[1], r.flags) for r in rows] == [
            ("web-1", []), ("web-2", ["corrected_in_window", "future", "clock_over_budget"])]
        assert rows[1].correction is not None and rows[1].correction.offset_us == 3 * s
        run = Run(reader, Page(QuerySpec(10 * s, 11 * s), None, 60), now=12 * s, skew_margin=1.0)
        assert [r.key[1] for r in run] == ["web-1"]  # beyond the margin: not read, but named
        assert run.summary.beyond_margin == {"web-2"}
        rows = list(Run(reader, Page(QuerySpec(0, None), None, 60), now=12 * s, skew_margin=0.0))
        assert [("future" in r.flags) for r in rows] == [False, True]
    store.close()


async def test_a_damaged_block_is_skipped_and_named(tmp_path: Path) -> None:
    store = make_store(tmp_path, block_bytes=4096)
    chunk = Chunk("s", 0, 0, OK, [f"line {i} " + "x" * 100 for i in range(300)], list(range(300)),
                  ["explicit"] * 300, [None] * 300)
    await store.append("city", Batch("a", "web-1", "UTC", 0, [chunk]), 1)
    await store.seal("city")
    [segment] = (tmp_path / "tenants/city/segments").glob("seg-*.cls")
    data = bytearray(segment.read_bytes())
    data[-100] ^= 0xFF  # inside the last block
    segment.write_bytes(bytes(data))
    rows, run = run_all(store, QuerySpec(0, None))
    [damaged] = run.summary.damaged
    assert damaged["where"].startswith(segment.name) and "block" in damaged["where"]
    assert 0 < len(rows) < 300 and not run.summary.complete
    store.close()


# ---- the clock-aware timeline ------------------------------------------------------------------

S = 1_000_000


def clock_chunk(seq: int, samples: list[tuple[int, float, float]]) -> Chunk:
    """The agent's ``clock`` stream: audit samples (made at ``ts`` by the host's clock)."""
    n = len(samples)
    return Chunk("clock", seq, samples[-1][0], OK, ["clock sample"] * n, [t for t, _, _ in samples],
                 ["explicit"] * n, [None] * n,
                 fields=[(i, {"kind": "sample", "offset": o, "bound": b, "status": "ok" if b < 0.1 else
                              "over_budget"}) for i, (_, o, b) in enumerate(samples)])


async def test_corrected_order_puts_lines_in_true_order_and_marks_what_the_bounds_cannot_order(
        tmp_path: Path) -> None:
    store = make_store(tmp_path)
    # True times: web-1 at 10.0 s, db-1 (clock 3 s ahead) at 10.2 s, web-2 at 10.4 s, then web-1
    # and db-1 only 1 ms apart at 10.6 s and 10.601 s, within their 2 ms bounds.
    ahead = ClockView(offset=3.0, bound=3.002, synced=True, status="over_budget", source="audit")
    hosts = {"web-1": (0.0, OK), "web-2": (0.0, OK), "db-1": (3.0, ahead)}
    true = [("web-1", 10.0, "a"), ("db-1", 10.2, "b"), ("web-2", 10.4, "c"), ("web-1", 10.6, "d"),
            ("db-1", 10.601, "e")]
    for host, (offset, view) in hosts.items():
        lines = [(round((t + offset) * S), m) for h, t, m in true if h == host]
        chunk = Chunk(f"file:/{host}", 0, lines[-1][0], view, [m for _, m in lines], [t for t, _ in lines],
                      ["explicit"] * len(lines), [None] * len(lines))
        samples = [(round((t + offset) * S), offset, offset + 0.002) for t in (9.0, 11.0)]
        await store.append("city", Batch(host, host, "UTC", 0, [chunk, clock_chunk(0, samples)]), 1)
    spec = QuerySpec(9 * S, 12 * S, streams=frozenset({"file:/web-1", "file:/web-2", "file:/db-1"}),
                     order="corrected")
    rows, _ = run_all(store, spec)
    assert [r.block.message(r.index) for r in rows] == ["a", "b", "c", "d", "e"]
    by_msg = {r.block.message(r.index): r for r in rows}
    b = by_msg["b"]
    assert b.correction is not None and b.correction.source == "clock_stream"
    assert b.key[0] == round(10.2 * S) and 0.002 <= b.correction.error < 0.0021
    assert [("order_undecidable" in r.flags) for r in rows] == [False, False, False, True, True]
    assert "corrected_in_window" in b.flags  # as stamped, 13.2 s, it is outside [9, 12)
    # By event time as stamped, it sorts after every other line.
    stamped, _ = run_all(store, QuerySpec(0, None, streams=spec.streams))
    assert [r.block.message(r.index) for r in stamped] == ["a", "c", "d", "b", "e"]
    store.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 7), min_size=1, max_size=5))
def test_corrected_pages_at_any_cursor_return_every_line_once_with_the_same_marks(
        corrected_store: LocalStore, limits: list[int]) -> None:
    spec = QuerySpec(0, None, order="corrected")
    whole, _ = run_all(corrected_store, spec)
    got: list[Row] = []
    cursor = None
    for page in itertools.count():
        limit = limits[page % len(limits)]
        rows, run = run_all(corrected_store, QuerySpec(**{**_fields(spec), "limit": limit}), cursor)
        got += rows
        if run.summary.cursor is None:
            break
        cursor = Cursor.decode(run.summary.cursor)
    assert [(r.key, r.flags) for r in got] == [(r.key, r.flags) for r in whole]


@pytest.fixture(scope="module")
def corrected_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStore]:
    """Three hosts, one 0.5 s ahead, lines about 1 ms to 1 s apart with 5 ms bounds."""
    rng = random.Random(3)
    store = make_store(tmp_path_factory.mktemp("corrected"), block_bytes=4096)

    async def fill() -> None:
        for host, offset in (("web-1", 0.0), ("web-2", 0.0), ("db-1", 0.5)):
            t = 0.0
            times = []
            for _ in range(40):
                t += rng.choice([0.001, 0.003, 0.2, 1.0])
                times.append(round((t + offset) * S))
            chunk = Chunk("s", 0, times[-1], OK, [f"{host} {i}" for i in range(40)], times,
                          ["explicit"] * 40, [None] * 40)
            samples = [(round((x + offset) * S), offset, offset + 0.005) for x in (0.0, 20.0, 40.0)]
            await store.append("city", Batch(host, host, "UTC", 0, [chunk, clock_chunk(0, samples)]), 1)
        await store.seal("city")

    asyncio.run(fill())
    yield store
    store.close()


@given(st.binary(max_size=40), st.binary(min_size=1, max_size=3), st.data())
def test_the_c_librarys_memmem_finds_what_bytes_find_finds(text: bytes, needle: bytes,
                                                           data: st.DataObject) -> None:
    from collector.query.match import _bytes_find, find

    pos = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(pos, len(text)))
    assert find(text, needle, pos, end) == _bytes_find(text, needle, pos, end)
