"""Check an evidence bundle offline, with nothing but the collector's public key: that every
record is the one exported, in its place, and was sealed into the tenant's signed hash chain.
Pure: bytes in, a report out (docs/evidence.md, "Verifying a bundle").

Findings name what is wrong, in an auditor's words:

- ``changed``: a record's bytes differ from the record exported in its place;
- ``removed``: a record exported is not in the bundle;
- ``added``: a line that is no record of this export;
- ``reordered``: a record exported stands at another place than it was exported at;
- ``duplicated``: a record appears twice;
- ``unsigned``: the statement's signature does not verify, or is by another key than the one
  you trust;
- ``disproved``: a proof does not lead from the records to a signed checkpoint, or the chain
  does not pass through a checkpoint it must;
- ``malformed``: a part of the bundle is not what the format says.

Records the collector could not prove one by one (sealed before records roots) are listed as
unproven, not as findings.
"""

from __future__ import annotations

import base64
import bisect
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from chronolog.evidence import merkle, tree
from chronolog.evidence.bundle import Bundle, BundleError, decode_hashes, manifest_digest, parse_bundle
from chronolog.evidence.chain import link
from chronolog.evidence.clocks import HostClock, clock_summary
from chronolog.evidence.findings import Finding, FindingsReport
from chronolog.evidence.signatures import signature_ok
from chronolog.timefmt import to_rfc3339

__all__ = ["BundleReport", "Finding", "verify_bundle"]


@dataclass
class BundleReport(FindingsReport):
    tenant: str | None = None
    records: int = 0  # record lines in the bundle
    exported: int = 0  # records the signed manifest lists
    matches: int = 0  # of those, lines that matched the query; the rest is clock evidence
    proven: int = 0
    unproven: list[tuple[int, str]] = field(default_factory=list)  # (record number, why)
    key: str = "pinned"  # or "bundle": checked with the key the bundle carries, nothing else
    head: dict[str, Any] | None = None  # the newest checkpoint the proofs reach
    notes: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    clocks: list[HostClock] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def verify_bundle(data: bytes, public_key: bytes | None = None,
                  checkpoint: dict[str, Any] | None = None) -> BundleReport:
    """Check a bundle. ``public_key`` (raw Ed25519) is the key you trust as the collector's;
    without it the bundle's own key is used and the report says so. ``checkpoint``, one you
    kept (`chronolog admin checkpoint`), is checked to lie on the bundle's chain."""
    report = BundleReport()
    try:
        bundle = parse_bundle(data)
    except BundleError as e:
        report.add("malformed", "bundle", str(e))
        return report
    report.manifest = bundle.manifest
    report.records = len(bundle.records)
    key = _key(bundle, public_key, report)
    try:
        expected = decode_hashes(str(bundle.manifest["records"]["leaf_hashes"]))
        report.matches = int(bundle.manifest["records"]["matches"])
        report.tenant = str(bundle.manifest["tenant"])
    except (KeyError, TypeError, ValueError):
        report.add("malformed", "manifest", "it does not list the records' leaf hashes and counts")
        return report
    report.exported = len(expected)
    if key is not None:
        _check_statement(bundle, key, report)
    describe = _describer(bundle, report.matches)
    places = _check_records(bundle, expected, describe, report)
    if key is not None:
        _check_proofs(bundle, expected, key, report.tenant, describe, checkpoint, report)
    # Each line counts as what stands at its place in the export (a query's line or clock
    # evidence), also when lines were moved or removed.
    roles = [(places.get(k, len(expected)) < report.matches, r) for k, r in enumerate(bundle.records)]
    report.clocks = clock_summary(roles, bundle.manifest)
    return report


# ---- the key and the statement ---------------------------------------------------------------


def _key(bundle: Bundle, pinned: bytes | None, report: BundleReport) -> bytes | None:
    try:
        carried = base64.b64decode(str(bundle.manifest["collector"]["public_key"]), validate=True)
    except (KeyError, TypeError, ValueError):
        report.add("malformed", "manifest", "it does not name the collector's public key")
        return pinned
    if pinned is None:
        report.key = "bundle"
        return carried
    if carried != pinned:
        report.add("unsigned", "manifest", "it names another collector key than the one you trust")
    return pinned


def _check_statement(bundle: Bundle, key: bytes, report: BundleReport) -> None:
    s = bundle.statement
    if not signature_ok(s, key):
        report.add("unsigned", "statement", "its signature does not verify under the collector's key: "
                   "the manifest or the statement was altered, or another key signed them")
    elif s.get("kind") != "export" or s.get("manifest") != manifest_digest(bundle.manifest_line):
        report.add("unsigned", "manifest", "it is not the manifest the signed statement vouches for: "
                   "its bytes were changed")
    elif s.get("tenant") != report.tenant:
        report.add("unsigned", "manifest", f"it names tenant {report.tenant!r}; the statement is for "
                   f"{s.get('tenant')!r}")


# ---- records against the manifest -----------------------------------------------------------


_ROLES = {"h": "line", "b": "context line", "a": "context line", "c": "clock record"}


def _describer(bundle: Bundle, matches: int) -> Callable[[int, bytes | None], str]:
    zone = str(bundle.manifest.get("query", {}).get("zone") or "UTC")
    kinds = str(bundle.manifest.get("records", {}).get("kinds") or "")

    def describe(position: int, record: bytes | None) -> str:
        if position < len(kinds):
            role = _ROLES.get(kinds[position], "record")
        else:
            role = "line" if position < matches else "clock record"
        try:
            r = orjson.loads(record or b"")
            when = to_rfc3339(int(r["ts"]), zone)
            return f"{role} of host {r['host']}, stream {r['stream']}, seq {r['seq']}, at {when}"
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return f"a {role}"

    return describe


def _where(line: int) -> str:
    return f"line {line + 3}"  # records start on the bundle's third line


def _check_records(bundle: Bundle, expected: list[bytes], describe: Callable[[int, bytes | None], str],
                   report: BundleReport) -> dict[int, int]:
    """Each record line against the manifest's leaf hash for its place; returns the place in
    the export of each line that has one."""
    place = {h: i for i, h in enumerate(expected)}
    got = merkle.leaf_hashes(bundle.records)
    by_place: dict[int, int] = {}  # place in the export -> line holding it
    matched: list[tuple[int, int]] = []  # (line, place), in line order
    unknown: list[int] = []
    for k, h in enumerate(got):
        i = place.get(h)
        if i is None:
            unknown.append(k)
        elif i in by_place:
            report.add("duplicated", _where(k), f"record {i + 1} ({describe(i, bundle.records[k])}) "
                       f"already stands at {_where(by_place[i])}")
        else:
            by_place[i] = k
            matched.append((k, i))
    # A line that is no record stands either where a record is missing (changed) or not (added).
    previous = {k: i for k, i in matched} if unknown else {}
    last, unknown_set = -1, set(unknown)
    for k in range(len(got) if unknown else 0):
        if k in previous:
            last = previous[k]
        elif k in unknown_set:
            if last + 1 < len(expected) and last + 1 not in by_place:
                by_place[last + 1] = k
                report.add("changed", _where(k), f"it is not record {last + 2} as exported "
                           f"(now: {describe(last + 1, bundle.records[k])})")
                last += 1
            else:
                report.add("added", _where(k), f"it is no record of this export "
                           f"({describe(len(expected), bundle.records[k])})")
    for i in range(len(expected)):
        if i not in by_place:
            after = _between(i, by_place, bundle, describe)
            report.add("removed", f"record {i + 1}", f"record {i + 1} of {len(expected)} (leaf hash "
                       f"{expected[i].hex()[:16]}…) is not in the bundle{after}")
    for k, i in _out_of_order(matched):
        report.add("reordered", _where(k), f"it holds record {i + 1} of the export "
                   f"({describe(i, bundle.records[k])}), which was exported elsewhere in the order")
    return {k: i for i, k in by_place.items()}


def _between(i: int, by_place: dict[int, int], bundle: Bundle,
             describe: Callable[[int, bytes | None], str]) -> str:
    before = next((by_place[j] for j in range(i - 1, -1, -1) if j in by_place), None)
    if before is None:
        return ""
    return f"; it came after {describe(i - 1, bundle.records[before])}"


def _out_of_order(matched: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (line, place) pairs outside a longest run of places in increasing order."""
    if all(a[1] < b[1] for a, b in itertools.pairwise(matched)):
        return []  # all in order: the usual case, without the search
    tails: list[int] = []  # tails[m]: smallest last place of an increasing run of length m+1
    tail_at: list[int] = []  # index into matched of that last element
    parent = [-1] * len(matched)
    for n, (_, i) in enumerate(matched):
        m = bisect.bisect_left(tails, i)
        if m == len(tails):
            tails.append(i)
            tail_at.append(n)
        else:
            tails[m], tail_at[m] = i, n
        parent[n] = tail_at[m - 1] if m else -1
    keep: set[int] = set()
    n = tail_at[-1] if tail_at else -1
    while n != -1:
        keep.add(n)
        n = parent[n]
    return [pair for n, pair in enumerate(matched) if n not in keep]


# ---- proofs and the chain -------------------------------------------------------------------


def _check_proofs(bundle: Bundle, expected: list[bytes], key: bytes, tenant: str,
                  describe: Callable[[int, bytes | None], str], kept: dict[str, Any] | None,
                  report: BundleReport) -> None:
    proofs = bundle.proofs
    covered: dict[int, str] = {}
    try:
        for position, reason in proofs.get("unproven", []):
            covered[int(position)] = "unproven"
            report.unproven.append((int(position) + 1, str(reason)))
        links = _chain(proofs["chain"], tenant, key, report)
        for entry in proofs["segments"]:
            _check_segment(entry, expected, key, tenant, links, covered, report)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        report.add("malformed", "proofs", f"they do not have the format's shape ({type(e).__name__}: {e})")
        return
    for i in range(len(expected)):
        if i not in covered:
            report.add("malformed", f"record {i + 1}", "no proof covers it and it is not listed as unproven")
    signed_unproven = bundle.manifest["records"].get("unproven")
    if signed_unproven != len(report.unproven):
        report.add("disproved", "proofs", f"they list {len(report.unproven)} records as unproven; the signed "
                   f"manifest says {signed_unproven}")
    report.proven = sum(1 for v in covered.values() if v == "proven")
    if kept is not None:
        _check_kept(kept, tenant, key, links, report)


def _signed_seal(record: Any, key: bytes, tenant: str) -> bool:
    return (isinstance(record, dict) and record.get("kind") == "seal" and record.get("tenant") == tenant
            and signature_ok(record, key))


def _chain(chain: dict[str, Any], tenant: str, key: bytes, report: BundleReport) -> dict[int, str]:
    """Recompute the links the bundle carries; check they end at its signed head."""
    prev = bytes.fromhex(str(chain["prev"]))
    number = int(chain["from"]) - 1
    links: dict[int, str] = {}
    for n, digest, root in chain["links"]:
        if int(n) != number + 1:
            raise ValueError(f"the chain jumps from segment {number} to {n}")
        number = int(n)
        prev = link(tenant, number, prev, bytes.fromhex(digest), bytes.fromhex(root) if root else None)
        links[number] = prev.hex()
    head = chain["head"]
    if head is None and not links:
        report.notes.append("the tenant had sealed nothing when the bundle was made")
    elif not _signed_seal(head, key, tenant):
        report.add("disproved", "chain", "its head checkpoint does not carry the collector's signature")
    elif int(head["number"]) != number or head["link"] != links.get(number):
        report.add("disproved", "chain", f"the links it carries do not end at its signed head "
                   f"(segment {head['number']})")
    else:
        report.head = head
    return links


def _check_segment(entry: dict[str, Any], expected: list[bytes], key: bytes, tenant: str,
                   links: dict[int, str], covered: dict[int, str], report: BundleReport) -> None:
    number, checkpoint = int(entry["number"]), entry["checkpoint"]
    where = f"segment {number}"
    positions = [int(p) for b in entry["touched"] for _, p in b["records"]]
    for p in positions:
        if p in covered or not 0 <= p < len(expected):
            raise ValueError(f"record {p + 1} is proved twice, or is not in the export")
        covered[p] = "proven"
    failed = False
    if not _signed_seal(checkpoint, key, tenant) or int(checkpoint["number"]) != number:
        report.add("disproved", where, "its checkpoint does not carry the collector's signature")
        failed = True
    elif links.get(number) != checkpoint["link"]:
        report.add("disproved", where, "its signed checkpoint is not on the chain the bundle carries")
        failed = True
    elif not _reaches_root(entry, expected, bytes.fromhex(str(checkpoint.get("records_root", "")))):
        report.add("disproved", where, f"records {_numbers(positions)} do not lead to the records root "
                   f"signed when it was sealed at {to_rfc3339(int(checkpoint['sealed']), 'UTC')}")
        failed = True
    if failed:
        for p in positions:
            covered[p] = "disproved"


def _reaches_root(entry: dict[str, Any], expected: list[bytes], signed_root: bytes) -> bool:
    leaves: dict[int, bytes] = {}
    try:
        for b in entry["touched"]:
            lines = int(b["lines"])
            known = {int(i): expected[int(p)] for i, p in b["records"]}
            block_root = merkle.root_from_proof(lines, known, decode_hashes(b["proof"]))
            leaves[int(b["block"])] = merkle.leaf_hash(tree.block_leaf(lines, block_root))
        blocks = int(entry["blocks"])
        top = merkle.root_from_proof(blocks, leaves, decode_hashes(entry["proof"]))
    except merkle.ProofError:
        return False
    return tree.records_root_of(blocks, top) == signed_root


def _numbers(positions: list[int]) -> str:
    shown = ", ".join(str(p + 1) for p in sorted(positions)[:10])
    return shown + (f" and {len(positions) - 10} more" if len(positions) > 10 else "")


def _check_kept(kept: dict[str, Any], tenant: str, key: bytes, links: dict[int, str],
                report: BundleReport) -> None:
    """A checkpoint the auditor kept from earlier: the bundle's chain must pass through it."""
    record = {k: v for k, v in kept.items() if k not in ("public_key", "algorithm")}
    if not _signed_seal(record, key, tenant):
        report.add("disproved", "your checkpoint", "it does not carry this collector's signature for "
                   f"tenant {tenant}")
        return
    number = int(record["number"])
    if number in links:
        if links[number] != record["link"]:
            report.add("disproved", "your checkpoint", f"the bundle's chain does not pass through it: "
                       f"segment {number} has another link than the one you kept")
        else:
            report.notes.append(f"the chain passes through your checkpoint of segment {number}")
    elif links and number > max(links):
        report.notes.append(f"your checkpoint (segment {number}) is newer than the bundle's head: "
                            "the export was made before it, and cannot be checked against it")
    else:
        report.notes.append(f"your checkpoint (segment {number}) is older than the chain the bundle "
                            "carries; it cannot be checked against it")
