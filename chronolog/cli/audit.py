"""``chronolog audit``: who did and read what, from the collector's audit trail.

With a live administrator session (``chronolog admin login``) it reads as that administrator
(every tenant in its scope); otherwise with ``--token-file`` as an investigator (its own
tenant). ``--verify`` has the collector check the whole chain and every signature, and exits 1
when anything was rewritten, removed or reordered.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from chronolog.cli.client import ApiClient
from chronolog.cli.timerange import parse_when
from chronolog.cliutil import UsageError
from chronolog.timefmt import BadTime, now_us, parse_rfc3339, to_rfc3339, valid_zone

__all__ = ["add_audit_parser", "render_entry", "run_audit"]


def add_audit_parser(sub: Any) -> None:
    a = sub.add_parser("audit", help="the audit trail: administrator actions and investigator reads")
    a.add_argument("--since", help="from (same forms as query --since; default: the beginning)")
    a.add_argument("--until", help="until, exclusive (default: now)")
    a.add_argument("--tenant", help="only this tenant (administrators of every tenant)")
    a.add_argument("--zone", default=os.environ.get("CHRONOLOG_ZONE", "Asia/Tokyo"),
                   help="zone for times without an offset and for the output (default Asia/Tokyo)")
    a.add_argument("--verify", action="store_true",
                   help="check the chain and every signature; exit 1 if anything was altered")
    a.add_argument("--json", action="store_true", help="the entries as JSON lines")


def render_entry(entry: dict[str, Any], zone: str) -> str:
    """One entry as a line: time, who, what, tenant, outcome, details."""
    try:
        at = to_rfc3339(parse_rfc3339(str(entry["at"])), zone)
    except (BadTime, KeyError):
        at = str(entry.get("at"))
    who = f"{entry.get('name') or '-'} ({entry.get('role') or 'unauthenticated'})"
    details = json.dumps(entry.get("details") or {}, ensure_ascii=False, separators=(",", ":"))
    # On a cluster of collectors, each entry says which collector wrote it.
    via = f"collector={entry['collector']} " if entry.get("collector") else ""
    return (f"{at} {via}{who} {entry.get('action')} tenant={entry.get('tenant') or '-'} "
            f"{entry.get('outcome')} {details}")


def run_audit(api: ApiClient, args: argparse.Namespace) -> int:
    try:
        zone = valid_zone(args.zone)
        now = now_us()
        params = [(name, to_rfc3339(parse_when(value, now, zone)[0], "UTC"))
                  for name, value in (("since", args.since), ("until", args.until)) if value]
    except BadTime as e:
        raise UsageError(str(e)) from None
    if args.tenant:
        params.append(("tenant", args.tenant))
    if args.verify:
        params.append(("verify", "1"))
        # Every signature is checked (about 8,000 entries a second on a small VM): a long
        # trail takes minutes, and the answer is worth waiting for.
        api.timeout = max(api.timeout, 3600.0)
    doc = api.get_json("/v1/audit", params)
    for entry in doc["entries"]:
        sys.stdout.write((json.dumps(entry, ensure_ascii=False) if args.json else render_entry(entry, zone))
                         + "\n")
    print(f"# {len(doc['entries'])} entries, scope {doc['scope']}", file=sys.stderr)
    verify = doc.get("verify")
    if verify is None:
        return 0
    if verify["clean"]:
        head = verify.get("head")
        tail = f"; head: entry {head['n']}, sha256 {head['sha256']}" if head else ""
        print(f"audit trail intact: every entry chained and signed{tail}")
        for h in verify.get("heads", []):  # a cluster: each collector's trail
            print(f"  collector {h['collector']}: {h['entries']} entries; head: entry {h['n']}, "
                  f"sha256 {h['sha256']}")
        return 0
    print("audit trail ALTERED:")
    for f in verify["findings"]:
        print(f"  {f['kind']}: {f['where']}: {f['detail']}")
    return 1
