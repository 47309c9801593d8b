"""``chronolog export`` (the query's lines as an evidence bundle) and ``chronolog
verify-export`` (check one offline, with the collector's public key only). docs/evidence.md."""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from pathlib import Path
from typing import Any

import orjson

from chronolog.cli.client import ApiClient
from chronolog.cli.query import add_selection_arguments, selection_params, zone_of
from chronolog.cli.reports import render_bundle_report, size
from chronolog.cliutil import Failure, UsageError
from chronolog.evidence.bundle import BundleError, parse_bundle
from chronolog.evidence.verify import verify_bundle

__all__ = ["EXIT_UNPROVEN", "add_export_parser", "add_verify_export_parser", "run_export",
           "run_verify_export"]

EXIT_UNPROVEN = 3  # intact, but some records could not be proved one by one


def add_export_parser(sub: Any) -> None:
    e = sub.add_parser("export", help="the query's lines, with the clock evidence of their hosts, as an "
                       "evidence bundle a third party can check offline (docs/evidence.md)")
    add_selection_arguments(e)
    e.add_argument("--out", "-o", type=Path, required=True, help="the bundle file to write (not overwritten)")
    e.add_argument("--clock-margin", type=int, default=600, metavar="SECONDS",
                   help="clock evidence from this long before --since to this long after --until "
                   "(default 600)")


def run_export(api: ApiClient, args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists():
        raise Failure(f"{out} already exists; not overwriting a bundle")
    if not 0 <= args.clock_margin <= 86_400:
        raise UsageError("--clock-margin must be from 0 to 86400 seconds")
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    zone = zone_of(args)
    params = [*selection_params(args, zone), ("zone", zone), ("limit", str(args.limit))]
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("wb") as f:
            headers = api.download("/v1/export", [*params, ("clock_margin", str(args.clock_margin))], f)
        partial.rename(out)
    finally:
        partial.unlink(missing_ok=True)
    with out.open("rb") as f:
        manifest = orjson.loads(f.readline())
    records = manifest["records"]
    print(f"# {records['matches']} lines and {records['clock']} clock records of "
          f"{len(manifest['clock_evidence']['hosts'])} hosts written to {out} ({size(out.stat().st_size)}, "
          f"sha256 {headers.get('X-Chronolog-Export-Sha256', '?')[:16]}…)", file=sys.stderr)
    selection = manifest["selection"]
    if selection["stopped"] == "limit":
        print(f"# the limit of {selection['hits']} hits was reached and more lines match: narrow the "
              "range or raise --limit", file=sys.stderr)
    for damaged in selection["damaged"]:
        print(f"# damaged, left out: {damaged.get('where')}: {damaged.get('detail')}", file=sys.stderr)
    if records["unproven"]:
        print(f"# {records['unproven']} records cannot be proved one by one (see verify-export)",
              file=sys.stderr)
    print(f"# check it with: chronolog verify-export {out} --key CHECKPOINT_OR_KEY_FILE", file=sys.stderr)
    return 0


def add_verify_export_parser(sub: Any) -> None:
    v = sub.add_parser("verify-export", help="check an evidence bundle offline (exit 0 intact, 1 findings, "
                       f"{EXIT_UNPROVEN} intact with unproven records)")
    v.add_argument("bundle", type=Path, help="the bundle `chronolog export` wrote")
    v.add_argument("--key", type=Path, required=True,
                   help="the collector's public key you trust: a checkpoint file from `chronolog admin "
                   "checkpoint -o FILE` (the chain must also pass through it), or a file holding the key "
                   "in base64")
    v.add_argument("--json", action="store_true", help="the report as JSON")


def _trusted(path: Path) -> tuple[bytes, dict[str, Any] | None]:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--key {path}: cannot read it ({e})") from None
    if text.startswith("{"):
        try:
            checkpoint = json.loads(text)
            return base64.b64decode(checkpoint["public_key"], validate=True), checkpoint
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise UsageError(f"--key {path}: not a checkpoint file with a public_key") from None
    try:
        key = base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        key = b""
    if len(key) != 32:
        raise UsageError(f"--key {path}: expected an Ed25519 public key (32 bytes, base64) or a "
                         "checkpoint file")
    return key, None


def run_verify_export(args: argparse.Namespace) -> int:
    key, checkpoint = _trusted(args.key)
    try:
        data = args.bundle.read_bytes()
    except OSError as e:
        raise Failure(f"cannot read {args.bundle}: {e.strerror}") from None
    try:
        parse_bundle(data)
    except BundleError as e:
        raise Failure(f"{args.bundle} is not an evidence bundle: {e}") from None
    report = verify_bundle(data, key, checkpoint)
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, default=str) + "\n")
    else:
        print(render_bundle_report(report, str(args.bundle)))
    if not report.clean:
        return 1
    return EXIT_UNPROVEN if report.unproven else 0
