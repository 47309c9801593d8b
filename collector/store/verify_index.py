"""Verify the catalog's index against the segment files (issue 16): what queries and
de-duplication trust of the catalog must be what each segment's sealed header and index say.
Pure: rows and heads in, findings out.

- ``blocks`` (time range and line count per block): a missing row hides a block from every
  query over its time; an edited one moves it out of their way;
- ``block_hosts``, ``block_streams``: a missing row hides a block from queries on that host;
- ``seq_runs``: a missing run makes a resend count as new lines; an added one drops new lines
  as duplicates;
- ``sealed_wal``: an added id makes the store delete an unsealed WAL file at its next start;
- the ``segments`` row's totals, which retention decides by.

Rows that name no segment are findings too. Expired segments are not checked: their files,
the only record to check against, are gone by design.
"""

from __future__ import annotations

from typing import Any

from collector.store.catalog import IndexRows, SegmentRow
from collector.store.segment import SegmentHead

__all__ = ["check_index", "orphan_rows"]

Finding = tuple[str, str, str]  # (kind, where, detail)


def _expected(head: SegmentHead) -> IndexRows:
    want = IndexRows()
    for i, entry in enumerate(head.index):
        want.blocks.add((i, int(entry["min_ts"]), int(entry["max_ts"]), int(entry["lines"])))
        want.hosts.update((i, h) for h in entry["hosts"])
        want.streams.update((i, s) for s in entry["streams"])
    want.runs.update((str(a), str(s), int(lo), int(hi)) for a, s, lo, hi in head.header.get("seq_runs", []))
    want.wal.update(str(w) for w in head.header.get("wal", []))
    return want


_TABLES = (  # (attribute, table, what a missing row does, what an added row does)
    ("blocks", "blocks", "queries over its time miss lines", "queries read a block from the wrong time"),
    ("hosts", "block_hosts", "queries on those hosts miss lines", "queries read a block for the wrong host"),
    ("streams", "block_streams", "the streams look empty", "the block is listed for a stream it lacks"),
    ("runs", "seq_runs", "a resend of those lines would be stored again",
     "new lines would be dropped as duplicates"),
    ("wal", "sealed_wal", "a WAL file it replaced could be sealed again",
     "an unsealed WAL file would be deleted at the next start"),
)


def check_index(row: SegmentRow, head: SegmentHead, found: IndexRows | None) -> list[Finding]:
    """The catalog's rows of one live segment against its head (trusted: its digest matched)."""
    where = f"segment {row.number}"
    want, have = _expected(head), found or IndexRows()
    out: list[Finding] = []
    header: dict[str, Any] = head.header
    totals = {"min_ts": row.min_ts, "max_ts": row.max_ts, "lines": row.lines, "raw": row.raw_bytes,
              "sealed": row.sealed}
    for key, value in totals.items():
        if header.get(key) != value:
            out.append(("rewritten", where, f"its catalog row says {key} {value}; the segment says "
                        f"{header.get(key)}"))
    legacy = "seq_runs" not in header  # sealed before its runs were recorded in it: not checked
    for attribute, table, when_missing, when_added in _TABLES:
        if attribute == "runs" and legacy:
            continue
        expected, actual = getattr(want, attribute), getattr(have, attribute)
        if missing := expected - actual:
            out.append(("missing", where, f"{len(missing)} of its {len(expected)} {table} row(s) are gone "
                        f"from the catalog: {when_missing}"))
        if added := actual - expected:
            out.append(("rewritten", where, f"the catalog holds {len(added)} {table} row(s) the segment "
                        f"does not: {when_added}"))
    return out


def orphan_rows(index: dict[int, IndexRows], segments: set[int]) -> list[Finding]:
    """Index rows naming a segment the catalog does not have."""
    out: list[Finding] = []
    for number in sorted(set(index) - segments):
        rows = index[number]
        count = sum(len(getattr(rows, attribute)) for attribute, *_ in _TABLES)
        out.append(("rewritten", "catalog", f"{count} index row(s) name segment {number}, which does "
                    "not exist"))
    return out
