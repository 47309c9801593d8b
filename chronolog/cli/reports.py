"""How the commands show what they check: verify results, evidence bundles. Pure: reports in,
text out."""

from __future__ import annotations

import json
from typing import Any

from chronolog.evidence.clocks import HostClock
from chronolog.evidence.verify import BundleReport
from chronolog.timefmt import to_rfc3339

__all__ = ["render_bundle_report", "render_verify", "size"]


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def render_verify(report: dict[str, Any], zone: str = "UTC") -> str:
    """One verify report: a summary line, then 'clean' or one line per finding."""
    checkpoint = report.get("checkpoint")
    signed = (f"last checkpoint: segment {checkpoint['number']}, signed "
              f"{to_rfc3339(checkpoint['sealed'], zone)}" if checkpoint else "no checkpoint yet")
    lines = [
        f"tenant {report['tenant']}: {report['segments']} segments checked ({report['expired']} expired), "
        f"{report['blocks']} blocks, {size(report['bytes'])}, {report['wal_records']} WAL records; "
        f"chain length {report['chain_length']}, head {report['head'][:16]}; {signed}",
    ]
    findings = report.get("findings", [])
    if not findings:
        lines.append("  clean")
    for f in findings:
        lines.append(f"  {f['kind']}: {f['where']}: {f['detail']}")
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    """A clock offset or bound, signed, in the unit that shows its digits."""
    if value is None:
        return "unknown"
    if abs(value) >= 1:
        return f"{value:+.3f} s"
    if abs(value) >= 0.001:
        return f"{value * 1e3:+.1f} ms"
    return f"{value * 1e6:+.0f} µs"


def _range(pair: tuple[float, float] | list[float] | None) -> str:
    if pair is None:
        return "unknown"
    lo, hi = pair
    return _seconds(lo) if lo == hi else f"{_seconds(lo)}..{_seconds(hi)}"


def _host_clock(h: HostClock, zone: str) -> list[str]:
    bound = "bound unknown" if h.worst_bound is None else f"bound up to {_seconds(h.worst_bound).lstrip('+')}"
    lines = [f"  {h.host}: {h.verdict} (offset {_range(h.offsets)}, {bound})"]
    if h.samples:
        span = f"{to_rfc3339(h.first_sample or 0, zone)} to {to_rfc3339(h.last_sample or 0, zone)}"
        gaps = []
        if h.first_line is not None and (h.first_sample or 0) > h.first_line:
            gaps.append("none before the first line")
        if h.last_line is not None and (h.last_sample or 0) < h.last_line:
            gaps.append("none after the last line")
        samples = "1 audit sample" if h.samples == 1 else f"{h.samples} audit samples"
        lines.append(f"    {samples} from {span}: offset {_range(h.sample_offsets)}, "
                     f"bound up to {_seconds(h.sample_bound).lstrip('+')}" + "".join(f"; {g}" for g in gaps))
    elif h.lines:
        lines.append("    no audit sample in the clock evidence")
    for e in h.events:
        lines.append(f"    {to_rfc3339(e['ts'], zone)} {e['msg']}")
    if h.cross_check is not None:
        lines.append(f"    collector's cross-check: {json.dumps(h.cross_check, sort_keys=True)}")
    return lines


def _filters(q: dict[str, Any]) -> str:
    """A query's selection in words: hosts, streams, text, context, order."""
    parts = [("hosts " + ", ".join(q["hosts"])) if q.get("hosts") else "every host"]
    if q.get("streams"):
        parts.append("streams " + ", ".join(q["streams"]))
    text = q.get("text") or {}
    words = {"grep": "containing", "regex": "matching", "exclude": "not containing",
             "exclude_regex": "not matching"}
    for key, word in words.items():
        parts += [f"{word} {v!r}" for v in text.get(key, [])]
    if text.get("ignore_case"):
        parts.append("ignoring case")
    if q.get("before") or q.get("after"):
        parts.append(f"{q.get('before', 0)} lines of context before, {q.get('after', 0)} after")
    parts.append(f"ordered by {q.get('order', 'event')} time")
    return "; ".join(parts)


def _selection(selection: dict[str, Any]) -> str:
    """How the collector said the selection ended."""
    how = "complete" if selection.get("complete") else (
        "stopped at its limit: more lines match" if selection.get("stopped") == "limit" else "incomplete")
    damaged = "".join(f"; damaged, left out: {d.get('where')}" for d in selection.get("damaged", []))
    return f"{selection['hits']} hits and {selection['context']} context lines, {how}{damaged}"


def render_bundle_report(report: BundleReport, name: str) -> str:
    """A verify-export report: what the bundle holds, whose clocks were how, then 'intact' or
    one line per finding."""
    m = report.manifest
    zone = str(m.get("query", {}).get("zone") or "UTC")
    out = [f"bundle {name}: tenant {report.tenant}"]
    try:
        q, by, c = m["query"], m["by"], m["collector"]
        out.append(f"  exported {to_rfc3339(int(m['created']), zone)} by {by['name']} ({by['role']}) from "
                   f"{c['tool']} on {c['host']}, key {c['signer']}")
        until = "now" if q["until"] is None else to_rfc3339(int(q["until"]), zone)
        out.append(f"  query: {to_rfc3339(int(q['since']), zone)} to {until}, {_filters(q)}")
        out.append(f"  {_selection(m['selection'])}")
    except (KeyError, TypeError, ValueError):
        out.append("  (its manifest cannot be read)")
    clock = report.exported - report.matches
    out.append(f"  records: {report.matches} lines and {clock} clock records; {report.proven} proved "
               f"against signed checkpoints, {len(report.unproven)} unproven")
    if report.head is not None:
        out.append(f"  chain: up to segment {report.head['number']}, signed "
                   f"{to_rfc3339(int(report.head['sealed']), zone)}")
    out.append("  key: the one you gave" if report.key == "pinned" else "  key: the bundle's own")
    out.extend(f"  {note}" for note in report.notes)
    if report.clocks:
        out.append("clocks, while the lines were written:")
        for h in report.clocks:
            out.extend(_host_clock(h, zone))
    for number, why in report.unproven:
        out.append(f"unproven: record {number}: {why}")
    if report.clean:
        out.append("intact: every record is the one exported, in its place" +
                   ("" if not report.unproven else "; the unproven ones cannot be traced to a checkpoint"))
    out.extend(str(f) for f in report.findings)
    return "\n".join(out)
