"""How the commands show what the collector reports: verify results. Pure: dicts in, text out."""

from __future__ import annotations

from typing import Any

from chronolog.timefmt import to_rfc3339

__all__ = ["render_verify", "size"]


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
