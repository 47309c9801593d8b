"""``chronolog admin ...``: the administrator's commands, each one call of ``/v1/admin/...``.

Every command but ``login`` needs two factors: the session ``chronolog admin login`` keeps,
or an admin client certificate with an admin token (docs/security.md). Guarded commands
(retention set and apply, hold release, keys rotate, erase-tenant, credentials revoke) show
what they would do and change nothing unless given ``--confirm`` naming their target. Local
operations that must work without a running collector (restore, offline verify, the master
key, administrator accounts) are ``chronolog-collector`` commands instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from chronolog.cli.access import (
    add_access_parsers,
    run_credentials,
    run_investigators,
    run_login,
    run_logout,
    run_tenant,
)
from chronolog.cli.client import ApiClient
from chronolog.cli.reports import render_verify, size
from chronolog.cli.timerange import parse_when
from chronolog.cliutil import ArgumentParser, Failure, UsageError
from chronolog.timefmt import BadTime, now_us, to_rfc3339, valid_zone

__all__ = ["add_admin_parser", "run_admin"]


def add_admin_parser(sub: Any) -> None:
    admin: ArgumentParser = sub.add_parser("admin", help="administration: login, tenants, credentials, "
                                           "verify, backup, retention, legal holds, keys, erase-tenant")
    asub = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    add_access_parsers(asub)

    def tenant_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--tenant", help="the tenant (default: the admin token's own tenant)")

    def confirm_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--confirm", metavar="TENANT",
                       help="do it: repeat the tenant's name (without it, only show what would happen)")

    v = asub.add_parser("verify", help="check every block, the hash chain and the signed checkpoints")
    v.add_argument("--tenant", help="only this tenant (default: every tenant the token may see)")
    v.add_argument("--checkpoint", type=Path, help="also prove the store extends this exported checkpoint")
    v.add_argument("--json", action="store_true", help="the reports as JSON")

    c = asub.add_parser("checkpoint", help="export the newest signed checkpoint (for a third party)")
    tenant_arg(c)
    c.add_argument("-o", "--output", type=Path, help="write it here (default: stdout)")

    b = asub.add_parser("backup", help="download a backup archive (ciphertext and catalog, no keys)")
    tenant_arg(b)
    b.add_argument("-o", "--output", type=Path, required=True, help="the archive to write (.tar)")

    r = asub.add_parser("retention", help="show, set or apply the tenant's retention")
    rsub = r.add_subparsers(dest="retention_command", required=True, metavar="ACTION")
    tenant_arg(rsub.add_parser("show", help="the policy, holds, and what would expire now"))
    rs = rsub.add_parser("set", help="set the retention in days (0: keep everything)")
    tenant_arg(rs)
    rs.add_argument("days", type=int)
    confirm_arg(rs)
    ra = rsub.add_parser("apply", help="remove the segments retention allows now")
    tenant_arg(ra)
    confirm_arg(ra)

    h = asub.add_parser("hold", help="legal holds: keep data whatever the retention")
    hsub = h.add_subparsers(dest="hold_command", required=True, metavar="ACTION")
    ha = hsub.add_parser("add", help="hold the whole tenant, or an event-time range")
    tenant_arg(ha)
    ha.add_argument("--reason", required=True, help="why (a case number, a court order)")
    ha.add_argument("--since", help="start of the range held (same forms as query --since)")
    ha.add_argument("--until", help="end of the range held, exclusive")
    ha.add_argument("--zone", default=os.environ.get("CHRONOLOG_ZONE", "Asia/Tokyo"),
                    help="zone for times without an offset (default Asia/Tokyo)")
    hl = hsub.add_parser("list", help="the tenant's holds")
    tenant_arg(hl)
    hl.add_argument("--all", action="store_true", help="released ones too")
    hr = hsub.add_parser("release", help="release a hold")
    tenant_arg(hr)
    hr.add_argument("id")
    confirm_arg(hr)

    k = asub.add_parser("keys", help="the tenant's key versions (never the keys)")
    ksub = k.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    tenant_arg(ksub.add_parser("list", help="key versions and which is active"))
    kr = ksub.add_parser("rotate", help="a new active version; old data stays as it is (a dry run "
                         "without --confirm)")
    tenant_arg(kr)
    confirm_arg(kr)

    e = asub.add_parser("erase-tenant", help="crypto-erase a tenant and write a disposal report")
    e.add_argument("tenant")
    confirm_arg(e)
    e.add_argument("--report", type=Path, help="write the report to REPORT.json and REPORT.txt "
                   "(default: ./disposal-TENANT-TIME)")


def _tenant_params(args: argparse.Namespace) -> list[tuple[str, str]]:
    return [("tenant", args.tenant)] if args.tenant else []


def _tenant_body(args: argparse.Namespace, **more: Any) -> dict[str, Any]:
    body = {k: v for k, v in more.items() if v is not None}
    if getattr(args, "tenant", None):
        body["tenant"] = args.tenant
    if getattr(args, "confirm", None):
        body["confirm"] = args.confirm
    return body


def _when(us: int | None) -> str:
    return "-" if us is None else to_rfc3339(us, "UTC")


def _print_json(doc: Any) -> None:
    print(json.dumps(doc, indent=2, ensure_ascii=False))


def _dry_run_note(what: str, tenant: str) -> None:
    print(f"# dry run: nothing was changed. To {what}, repeat with --confirm {tenant}", file=sys.stderr)


def _verify(api: ApiClient, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"tenant": args.tenant} if args.tenant else {}
    if args.checkpoint is not None:
        try:
            body["checkpoint"] = json.loads(args.checkpoint.read_text())
        except (OSError, ValueError) as e:
            raise UsageError(f"--checkpoint {args.checkpoint}: not a readable checkpoint ({e})") from None
    result = api.post_json("/v1/admin/verify", body)
    if args.json:
        _print_json(result)
    else:
        for report in result["reports"]:
            print(render_verify(report))
    return 0 if result["clean"] else 1


def _checkpoint(api: ApiClient, args: argparse.Namespace) -> int:
    doc = api.get_json("/v1/admin/checkpoint", _tenant_params(args))
    text = json.dumps(doc, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
        print(f"# checkpoint of tenant {doc['tenant']}, segment {doc['number']}, written to {args.output}",
              file=sys.stderr)
    return 0


def _backup(api: ApiClient, args: argparse.Namespace) -> int:
    if args.output.exists():
        raise Failure(f"{args.output} already exists; not overwriting a backup")
    partial = args.output.with_name(args.output.name + ".partial")
    try:
        with partial.open("wb") as out:
            headers = api.download("/v1/admin/backup", _tenant_params(args), out)
        partial.rename(args.output)
    finally:
        partial.unlink(missing_ok=True)
    print(f"# backup {headers.get('X-Chronolog-Backup')} written to {args.output} "
          f"({size(args.output.stat().st_size)}); keys are not in it", file=sys.stderr)
    return 0


def _retention(api: ApiClient, args: argparse.Namespace) -> int:
    action = args.retention_command
    if action == "show":
        doc = api.get_json("/v1/admin/retention", _tenant_params(args))
    elif action == "set":
        doc = api.post_json("/v1/admin/retention", _tenant_body(args, days=args.days))
    else:
        doc = api.post_json("/v1/admin/retention/apply", _tenant_body(args))
    expire = doc.get("would_expire") or doc.get("expired") or {}
    days = doc.get("retention_days")
    if days is not None:
        print(f"tenant {doc['tenant']}: retention {days or 'forever'} days"
              + (f" (proposed: {doc['proposed_days']})" if doc.get("proposed_days") is not None else ""))
    for hold in doc.get("holds", []):
        print(f"  held: {hold['id']} {_when(hold['since'])} to {_when(hold['until'])}: {hold['reason']}")
    verb = "expired" if "expired" in doc else "would expire"
    print(f"  {verb}: {len(expire.get('segments', []))} segments, {expire.get('lines', 0)} lines, "
          f"{size(expire.get('bytes', 0))}, events {_when(expire.get('min_ts'))} to "
          f"{_when(expire.get('max_ts'))}")
    if doc.get("dry_run"):
        _dry_run_note("set the retention" if action == "set" else "remove them", args.tenant or "TENANT")
    return 0


def _hold(api: ApiClient, args: argparse.Namespace) -> int:
    action = args.hold_command
    if action == "add":
        try:
            zone = valid_zone(args.zone)
            since = parse_when(args.since, now_us(), zone)[0] if args.since else None
            until = parse_when(args.until, now_us(), zone)[0] if args.until else None
        except BadTime as e:
            raise UsageError(str(e)) from None
        hold = api.post_json("/v1/admin/holds", _tenant_body(
            args, reason=args.reason, since=None if since is None else to_rfc3339(since, "UTC"),
            until=None if until is None else to_rfc3339(until, "UTC")))
        print(f"hold {hold['id']}: {_when(hold['since'])} to {_when(hold['until'])}: {hold['reason']}")
    elif action == "list":
        params = _tenant_params(args) + ([("all", "1")] if args.all else [])
        for hold in api.get_json("/v1/admin/holds", params)["holds"]:
            state = (f"released {_when(hold['released'])} by {hold['released_by']}" if hold["released"]
                     else "active")
            print(f"{hold['id']}\t{_when(hold['since'])}\t{_when(hold['until'])}\t{state}\t{hold['reason']}")
    else:
        doc = api.post_json("/v1/admin/holds/release", _tenant_body(args, id=args.id))
        if doc["dry_run"]:
            print(f"would release hold {doc['hold']['id']} ({doc['hold']['reason']}); "
                  f"{len(doc['remaining'])} other holds remain")
            _dry_run_note("release it", args.tenant or "TENANT")
        else:
            print(f"released hold {doc['released']}")
    return 0


def _keys(api: ApiClient, args: argparse.Namespace) -> int:
    if args.keys_command == "list":
        for v in api.get_json("/v1/admin/keys", _tenant_params(args))["versions"]:
            active = "active" if v["active"] else ""
            print(f"{v['id']}\tcreated {v['created']}\twrapped by {v['master']}\t{active}")
    else:
        doc = api.post_json("/v1/admin/keys/rotate", _tenant_body(args))
        if doc["dry_run"]:
            print(f"tenant {doc['tenant']}: a new key version would wrap new data from now on; the "
                  f"{doc['versions']} existing versions (active: {doc['active']}) stay to open older data")
            _dry_run_note("rotate", doc["tenant"])
        else:
            print(f"tenant {doc['tenant']}: new data is sealed under {doc['active']}; older versions still "
                  "open older data")
    return 0


def _erase(api: ApiClient, args: argparse.Namespace) -> int:
    body = {"tenant": args.tenant, **({"confirm": args.confirm} if args.confirm else {})}
    doc = api.post_json("/v1/admin/erase", body)
    if doc["dry_run"]:
        p = doc["plan"]
        print(f"erase-tenant {p['tenant']} would destroy:")
        print(f"  segments: {len(p['segments'])} ({p['lines']} lines, events {_when(p['min_ts'])} to "
              f"{_when(p['max_ts'])}), WAL files: {p['wal_files']}; {p['files']} files, "
              f"{size(p['bytes_on_disk'])} on disk")
        print(f"  key versions: {', '.join(p['key_ids']) or 'none'} (every backup becomes unreadable)")
        creds = ", ".join(f"{c['id']} ({c['role']}, {c['name']})" for c in p["credentials"]) or "none"
        print(f"  credentials revoked: {creds}")
        print(f"  administrator accounts disabled: {', '.join(p.get('administrators', [])) or 'none'}")
        print(f"  investigator accounts disabled: {', '.join(p.get('investigators', [])) or 'none'}")
        print(f"  backups made: {len(p['backups'])}")
        if p["holds"]:
            print(f"  refused while {len(p['holds'])} legal hold(s) stand: "
                  f"{', '.join(h['id'] for h in p['holds'])}")
        _dry_run_note(f"erase tenant {p['tenant']}", p["tenant"])
        return 0
    report = doc["report"]
    prefix = args.report or Path(report["id"])
    json_path = prefix.with_name(prefix.name + ".json")
    text_path = prefix.with_name(prefix.name + ".txt")
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    text_path.write_text(doc["text"])
    sys.stdout.write(doc["text"])
    print(f"# disposal report written to {json_path} and {text_path} (also kept by the collector)",
          file=sys.stderr)
    if report["sanitization"]["verification"]["decrypt_failed"] is not True:
        raise Failure("the erase's verification FAILED: some key still decrypts the tenant's data")
    return 0


_ACTIONS = {"verify": _verify, "checkpoint": _checkpoint, "backup": _backup, "retention": _retention,
            "hold": _hold, "keys": _keys, "erase-tenant": _erase, "tenant": run_tenant,
            "credentials": run_credentials, "investigators": run_investigators}


def run_admin(api: ApiClient, args: argparse.Namespace, session_file: Path) -> int:
    if args.admin_command == "login":
        return run_login(api, args, session_file)
    if args.admin_command == "logout":
        return run_logout(api, args, session_file)
    return _ACTIONS[args.admin_command](api, args)
